import TensorEngine

/// A fully connected layer: x (N,in) ↦ x·weightᵀ + bias, weight (out,in), bias (out).
///
/// The weight layout is PyTorch's (and ONNX Gemm's with transB = 1). Parameters: `weight`, `bias`.
public final class Linear: Layer {
    /// The weight (out,in).
    public let weight: Parameter
    /// The bias (out), if any.
    public let bias: Parameter?

    /// A layer initialised from `rng`; the default initialisation is PyTorch's, U(±1/√in).
    public init(
        inFeatures: Int,
        outFeatures: Int,
        bias: Bool = true,
        initialization: WeightInitialization = .uniformFanIn,
        rng: inout RandomGenerator
    ) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear: in \(inFeatures), out \(outFeatures)")
        self.weight = Parameter(
            name: "weight",
            value: initialization.weight([outFeatures, inFeatures], fanIn: inFeatures, using: &rng)
        )
        self.bias =
            bias
            ? Parameter(name: "bias", value: initialization.bias(outFeatures, fanIn: inFeatures, using: &rng)) : nil
    }

    /// A layer with given weight (out,in) and optional bias (out).
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear: weight \(weight.shape) must be (out,in)")
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "Linear: bias \(bias.shape) for weight \(weight.shape)")
        }
        self.weight = Parameter(name: "weight", value: weight)
        self.bias = bias.map { Parameter(name: "bias", value: $0) }
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(
            x.rank == 2 && x.shape[1] == weight.shape[1],
            "Linear: input \(x.shape) for weight \(weight.shape)"
        )
        let y = matmul(x, weight.value, transposeB: true)
        return bias.map { y + $0.value } ?? y
    }
}
