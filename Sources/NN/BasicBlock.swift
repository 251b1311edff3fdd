import TensorEngine

/// The basic residual block of ResNet v1 (He et al. 2016, "Deep Residual Learning for Image
/// Recognition", arXiv:1512.03385):
///
///     y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
///
/// with 3×3 convolutions without bias; conv1 carries the stride. The shortcut is the identity when
/// the shape is kept, and otherwise a 1×1 convolution with the same stride followed by batch norm
/// (the paper's option B). Children: `conv1`, `bn1`, `conv2`, `bn2`, and `shortcut.conv`,
/// `shortcut.bn` when projecting.
public final class BasicBlock: Layer {
    /// The first 3×3 convolution (carries the stride).
    public let conv1: Conv2D
    /// Batch norm after `conv1`.
    public let bn1: BatchNorm2D
    /// The second 3×3 convolution.
    public let conv2: Conv2D
    /// Batch norm after `conv2`.
    public let bn2: BatchNorm2D
    /// The projection shortcut, or `nil` for the identity.
    public let shortcut: Sequential?
    /// The shortcut's convolution and batch norm, for the folded evaluation path.
    private let projection: (conv: Conv2D, bn: BatchNorm2D)?

    /// A block from `inChannels` to `outChannels` channels with the given stride, initialised from `rng`.
    public init(inChannels: Int, outChannels: Int, stride: Int = 1, rng: inout RandomGenerator) {
        conv1 = Conv2D(
            inChannels: inChannels,
            outChannels: outChannels,
            kernelSize: 3,
            stride: stride,
            padding: 1,
            bias: false,
            rng: &rng
        )
        bn1 = BatchNorm2D(channels: outChannels)
        conv2 = Conv2D(
            inChannels: outChannels,
            outChannels: outChannels,
            kernelSize: 3,
            padding: 1,
            bias: false,
            rng: &rng
        )
        bn2 = BatchNorm2D(channels: outChannels)
        if stride != 1 || inChannels != outChannels {
            let projection = Conv2D(
                inChannels: inChannels,
                outChannels: outChannels,
                kernelSize: 1,
                stride: stride,
                bias: false,
                rng: &rng
            )
            let projectionBN = BatchNorm2D(channels: outChannels)
            shortcut = Sequential(named: [("conv", projection), ("bn", projectionBN)])
            self.projection = (projection, projectionBN)
        } else {
            shortcut = nil
            projection = nil
        }
        conv1.qualifyNames(under: "conv1")
        bn1.qualifyNames(under: "bn1")
        conv2.qualifyNames(under: "conv2")
        bn2.qualifyNames(under: "bn2")
        shortcut?.qualifyNames(under: "shortcut")
    }

    public var parameters: [Parameter] {
        conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters + (shortcut?.parameters ?? [])
    }

    public var buffers: [Buffer] {
        bn1.buffers + bn2.buffers + (shortcut?.buffers ?? [])
    }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        let h = convBatchNorm(conv1, bn1, x, relu: true, context: context)
        let skip = projection.map { convBatchNorm($0.conv, $0.bn, x, context: context) } ?? x
        return convBatchNorm(conv2, bn2, h, adding: skip, relu: true, context: context)
    }
}
