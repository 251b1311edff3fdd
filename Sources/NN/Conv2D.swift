import TensorEngine

/// A 2-D convolution: x (N,C,H,W) ↦ conv2d(x, weight) + bias, weight (K,C,R,S), bias (K).
///
/// Parameters: `weight` and, when present, `bias`.
public final class Conv2D: Layer {
    /// The filter (K,C/groups,R,S).
    public let weight: Parameter
    /// The per-output-channel bias (K), if any.
    public let bias: Parameter?
    /// Stride, padding, dilation and groups.
    public let options: Conv2DOptions

    /// A square `kernelSize` convolution with symmetric `padding`, initialised from `rng`.
    public init(
        inChannels: Int,
        outChannels: Int,
        kernelSize: Int,
        stride: Int = 1,
        padding: Int = 0,
        bias: Bool = true,
        initialization: WeightInitialization = .kaimingNormal,
        rng: inout RandomGenerator
    ) {
        precondition(
            inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
            "Conv2D: in \(inChannels), out \(outChannels), kernel \(kernelSize), stride \(stride), pad \(padding)"
        )
        let fanIn = inChannels * kernelSize * kernelSize
        let shape = [outChannels, inChannels, kernelSize, kernelSize]
        self.weight = Parameter(name: "weight", value: initialization.weight(shape, fanIn: fanIn, using: &rng))
        self.bias =
            bias
            ? Parameter(name: "bias", value: initialization.bias(outChannels, fanIn: fanIn, using: &rng)) : nil
        self.options = Conv2DOptions(stride: stride, padding: padding)
    }

    /// A convolution with given weights (K,C/groups,R,S) and optional bias (K).
    public init(weight: Tensor, bias: Tensor?, options: Conv2DOptions = .init()) {
        precondition(weight.rank == 4, "Conv2D: weight \(weight.shape) must be (K,C,R,S)")
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "Conv2D: bias \(bias.shape) for weight \(weight.shape)")
        }
        self.weight = Parameter(name: "weight", value: weight)
        self.bias = bias.map { Parameter(name: "bias", value: $0) }
        self.options = options
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        conv2d(x, weight.value, bias: bias?.value, options: options)
    }

    /// relu(self(x) + residual) in one pass over the output (`fusedConv2d`): the same values and
    /// derivatives as the separate ops, without writing and reading the intermediate tensors.
    public func relu(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        fusedConv2d(x, weight.value, bias: bias?.value, residual: residual, relu: true, options: options)
    }
}
