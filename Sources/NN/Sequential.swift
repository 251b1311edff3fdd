import TensorEngine

/// Layers applied one after another.
///
/// Each child's parameters and buffers are named under the child's name: its index ("0", "1", …)
/// or the name given at construction, as in PyTorch's `nn.Sequential`.
public final class Sequential: Layer {
    /// The children in order, with their names.
    public let layers: [(name: String, layer: any Layer)]

    /// Children named by their index.
    public init(_ layers: [any Layer]) {
        self.layers = layers.enumerated().map { (String($0.offset), $0.element) }
        qualifyChildren()
    }

    /// Children with explicit names.
    /// - Precondition: the names are unique and non-empty.
    public init(named layers: [(String, any Layer)]) {
        precondition(
            Set(layers.map(\.0)).count == layers.count && !layers.contains { $0.0.isEmpty },
            "Sequential: child names \(layers.map(\.0)) must be unique and non-empty"
        )
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
        qualifyChildren()
    }

    private func qualifyChildren() {
        for (name, layer) in layers { layer.qualifyNames(under: name) }
    }

    public var parameters: [Parameter] { layers.flatMap { $0.layer.parameters } }
    public var buffers: [Buffer] { layers.flatMap { $0.layer.buffers } }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        layers.reduce(x) { h, child in child.layer(h, context: context) }
    }
}
