import TensorEngine

/// Average pooling of x (N,C,H,W) over square windows; padding is not counted in the average
/// (PyTorch `count_include_pad=False`). No parameters.
public final class AvgPool2D: Layer {
    /// Window, stride and padding.
    public let options: Pool2DOptions

    /// A `kernelSize` window with stride `stride` (default: the window) and symmetric `padding`.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.options = Pool2DOptions(kernel: kernelSize, stride: stride, padding: padding)
    }

    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        avgPool2d(x, options: options, countIncludePad: false)
    }
}
