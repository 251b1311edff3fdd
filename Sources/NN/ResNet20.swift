import TensorEngine

/// The CIFAR-style ResNet-20 of He et al. 2016 ("Deep Residual Learning for Image Recognition",
/// arXiv:1512.03385, section 4.2), with 1×1 projection shortcuts where the shape changes.
///
///     conv3x3(w)-bn-relu → stage1: 3 × BasicBlock(w) → stage2: 3 × BasicBlock(2w), first stride 2
///     → stage3: 3 × BasicBlock(4w), first stride 2 → global average pool → linear(classes)
///
/// On 28×28 inputs the stages run at 28, 14 and 7 pixels; on 32×32 at 32, 16, 8. Feature taps:
/// `stage1`, `stage2`, `stage3` (each stage's output, (N,w,H,W), (N,2w,H/2,W/2), (N,4w,H/4,W/4))
/// and `pool` (the pooled features (N,4w) that enter the linear layer). Convolutions use
/// He-normal initialisation, the linear layer PyTorch's default.
public final class ResNet20: TruncatableClassifier {
    /// The stem convolution.
    public let conv1: Conv2D
    /// Batch norm after the stem.
    public let bn1: BatchNorm2D
    /// The three stages of three blocks each.
    public let stages: [Sequential]
    /// The classifier head.
    public let fc: Linear

    public let inputShape: [Int]
    public let classCount: Int
    public var featureTapNames: [String] { ["stage1", "stage2", "stage3", "pool"] }

    /// A freshly initialised network for `imageSize`×`imageSize` images with `inputChannels`
    /// channels; `width` is the first stage's channel count (16 in the paper).
    public init(inputChannels: Int = 3, imageSize: Int = 32, classes: Int = 10, width: Int = 16, seed: UInt64) {
        precondition(
            inputChannels > 0 && imageSize >= 4 && classes > 1 && width > 0,
            "ResNet20: channels \(inputChannels), image \(imageSize), classes \(classes), width \(width)"
        )
        var rng = RandomGenerator(seed: seed)
        conv1 = Conv2D(inChannels: inputChannels, outChannels: width, kernelSize: 3, padding: 1, bias: false, rng: &rng)
        bn1 = BatchNorm2D(channels: width)
        var stages: [Sequential] = []
        var channels = width
        for stage in 0..<3 {
            let out = width << stage
            var blocks: [(String, any Layer)] = []
            for b in 0..<3 {
                let stride = (stage > 0 && b == 0) ? 2 : 1
                blocks.append(
                    ("block\(b)", BasicBlock(inChannels: channels, outChannels: out, stride: stride, rng: &rng))
                )
                channels = out
            }
            stages.append(Sequential(named: blocks))
        }
        self.stages = stages
        fc = Linear(inFeatures: channels, outFeatures: classes, rng: &rng)
        inputShape = [inputChannels, imageSize, imageSize]
        classCount = classes
        conv1.qualifyNames(under: "conv1")
        bn1.qualifyNames(under: "bn1")
        for (i, stage) in stages.enumerated() { stage.qualifyNames(under: "stage\(i + 1)") }
        fc.qualifyNames(under: "fc")
    }

    public var parameters: [Parameter] {
        conv1.parameters + bn1.parameters + stages.flatMap(\.parameters) + fc.parameters
    }

    public var buffers: [Buffer] {
        bn1.buffers + stages.flatMap(\.buffers)
    }

    public func forward(_ x: Tensor, context: ForwardContext, tapsOnly: Bool) -> Tensor? {
        precondition(
            x.rank == 4 && x.shape[1] == inputShape[0],
            "ResNet20: input \(x.shape) for (N,\(inputShape[0]),H,W)"
        )
        var h = convBatchNorm(conv1, bn1, x, relu: true, context: context)
        for (i, stage) in stages.enumerated() {
            h = stage(h, context: context)
            context.record("stage\(i + 1)", h)
            if tapsOnly && context.hasEveryRequestedTap { return nil }
        }
        let pooled = globalAvgPool2d(h).flattened(axis: 1)
        context.record("pool", pooled)
        if tapsOnly && context.hasEveryRequestedTap { return nil }
        return fc(pooled, context: context)
    }
}
