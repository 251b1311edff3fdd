/// One recorded operation on the autodiff tape.
///
/// A node keeps the op's inputs (with their own nodes, so the tape is the graph reachable from an
/// output), the op's output value (detached, to avoid a reference cycle) and the vector–Jacobian
/// product. The VJP is written with differentiable ops, so when it runs while recording
/// (`createGraph: true`) its own ops are recorded and the result can be differentiated again.
final class GradNode: Sendable {
    /// The op's name, for debugging and error messages.
    let name: String
    /// The tensors the op read; empty for a leaf.
    let inputs: [Tensor]
    /// The op's output shape.
    let shape: [Int]
    /// The op's output values, detached.
    let output: [Float]
    /// Given the gradient with respect to the output, the output itself (re-attached to this
    /// node, so VJPs that use it stay differentiable) and which inputs need a gradient, returns one
    /// gradient per input, or `nil` for an input that gets none. Expensive VJPs skip the inputs
    /// whose `needed` flag is false (weights during an attack, inputs during training).
    let vjp: VJP?

    typealias VJP = @Sendable (_ upstream: Tensor, _ output: Tensor, _ needed: [Bool]) -> [Tensor?]

    init(name: String, inputs: [Tensor], shape: [Int], output: [Float], vjp: @escaping VJP) {
        self.name = name
        self.inputs = inputs
        self.shape = shape
        self.output = output
        self.vjp = vjp
    }

    /// A leaf: a value the user differentiates with respect to.
    init(leafShape: [Int]) {
        self.name = "leaf"
        self.inputs = []
        self.shape = leafShape
        self.output = []
        self.vjp = nil
    }

    var isLeaf: Bool { vjp == nil }
}
