/// What a float initializer is for, decided by the operator inputs that read it.
///
/// Only weights become trainable `Parameter`s; batch-norm running statistics become `Buffer`s
/// (updated when the graph runs in training mode); everything else (normalisation constants fed to
/// Sub/Div, Clip bounds, Pad values, …) stays a constant unless the caller marks it trainable.
public enum InitializerRole: String, Sendable, CaseIterable {
    /// A weight or bias of Conv, Gemm, MatMul, BatchNormalization (scale, B) or PRelu.
    case weight
    /// A BatchNormalization running mean or variance.
    case runningStatistic
    /// Any other float initializer.
    case constant

    /// The role of input `index` of an `opType` node, when the value there is an initializer.
    static func of(opType: String, inputIndex index: Int) -> InitializerRole {
        switch (opType, index) {
        case ("Conv", 1), ("Conv", 2): .weight
        case ("Gemm", 0), ("Gemm", 1), ("Gemm", 2): .weight
        case ("MatMul", 0), ("MatMul", 1): .weight
        case ("PRelu", 1): .weight
        case ("LayerNormalization", 1), ("LayerNormalization", 2): .weight
        case ("InstanceNormalization", 1), ("InstanceNormalization", 2): .weight
        case ("GroupNormalization", 1), ("GroupNormalization", 2): .weight
        case ("BatchNormalization", 1), ("BatchNormalization", 2): .weight
        case ("BatchNormalization", 3), ("BatchNormalization", 4): .runningStatistic
        default: .constant
        }
    }

    /// Weight beats running statistic beats constant when one initializer feeds several inputs.
    var precedence: Int {
        switch self {
        case .weight: 2
        case .runningStatistic: 1
        case .constant: 0
        }
    }
}

/// Choices made when importing a graph.
public struct ImportOptions: Sendable {
    /// Float initializers to train although no weight input reads them (e.g. a learned scale fed to
    /// Mul). Each must name a float initializer.
    public var alsoTrainable: Set<String> = []
    /// Weights to keep fixed: they become constants, never updated by an optimizer. Each must name
    /// a float initializer.
    public var frozen: Set<String> = []

    public init(alsoTrainable: Set<String> = [], frozen: Set<String> = []) {
        self.alsoTrainable = alsoTrainable
        self.frozen = frozen
    }
}
