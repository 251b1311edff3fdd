import TensorEngine

/// A model whose every pass first asks whether the work should stop, so that a cancellation or a
/// shutdown reaches an attack (or the inner maximisation of adversarial training) within one forward
/// pass instead of at the end of its batch. The work since the last checkpoint is redone on
/// resumption; results do not change.
public struct StoppableModel<Model: AttackModel>: AttackModel {
    public let model: Model
    public let checkStop: () throws -> Void

    /// `checkStop` throws to stop; it runs before every pass.
    public init(model: Model, checkStop: @escaping () throws -> Void) {
        self.model = model
        self.checkStop = checkStop
    }

    public var inputShape: [Int] { model.inputShape }
    public var classCount: Int { model.classCount }
    public var inputBounds: ClosedRange<Float> { model.inputBounds }

    public func logits(_ x: Tensor) throws -> Tensor {
        try checkStop()
        return try model.logits(x)
    }
}
