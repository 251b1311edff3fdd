import TensorEngine

/// A small convolutional classifier for quick experiments and tests:
///
///     conv3x3(32, pad 1)-relu-maxpool2 → conv3x3(64, pad 1)-relu-maxpool2 → flatten
///     → linear(128)-relu → linear(classes)
///
/// Feature taps: `conv1` (N,32,H/2,W/2) and `conv2` (N,64,H/4,W/4), each after its pooling, and
/// `fc1` (N,128) after its ReLU. Pooling floors odd sizes. Convolutions use He-normal
/// initialisation (zero bias), linear layers PyTorch's default.
public final class SmallCNN: TruncatableClassifier {
    /// The first convolution.
    public let conv1: Conv2D
    /// The second convolution.
    public let conv2: Conv2D
    /// The hidden fully connected layer.
    public let fc1: Linear
    /// The output layer.
    public let fc2: Linear

    public let inputShape: [Int]
    public let classCount: Int
    public var featureTapNames: [String] { ["conv1", "conv2", "fc1"] }

    /// A freshly initialised network for inputs (N, inputChannels, height, width).
    public init(inputChannels: Int = 1, height: Int = 28, width: Int = 28, classes: Int = 10, seed: UInt64) {
        precondition(
            inputChannels > 0 && height >= 4 && width >= 4 && classes > 1,
            "SmallCNN: channels \(inputChannels), size \(height)×\(width), classes \(classes)"
        )
        var rng = RandomGenerator(seed: seed)
        conv1 = Conv2D(inChannels: inputChannels, outChannels: 32, kernelSize: 3, padding: 1, rng: &rng)
        conv2 = Conv2D(inChannels: 32, outChannels: 64, kernelSize: 3, padding: 1, rng: &rng)
        fc1 = Linear(inFeatures: 64 * (height / 4) * (width / 4), outFeatures: 128, rng: &rng)
        fc2 = Linear(inFeatures: 128, outFeatures: classes, rng: &rng)
        inputShape = [inputChannels, height, width]
        classCount = classes
        conv1.qualifyNames(under: "conv1")
        conv2.qualifyNames(under: "conv2")
        fc1.qualifyNames(under: "fc1")
        fc2.qualifyNames(under: "fc2")
    }

    public var parameters: [Parameter] { conv1.parameters + conv2.parameters + fc1.parameters + fc2.parameters }
    public var buffers: [Buffer] { [] }

    public func forward(_ x: Tensor, context: ForwardContext, tapsOnly: Bool) -> Tensor? {
        precondition(
            x.rank == 4 && Array(x.shape[1...]) == inputShape,
            "SmallCNN: input \(x.shape) for (N,\(inputShape.map(String.init).joined(separator: ",")))"
        )
        let pool = Pool2DOptions(kernel: 2)
        let h1 = maxPool2d(conv1.relu(x), options: pool)
        context.record("conv1", h1)
        if tapsOnly && context.hasEveryRequestedTap { return nil }
        let h2 = maxPool2d(conv2.relu(h1), options: pool)
        context.record("conv2", h2)
        if tapsOnly && context.hasEveryRequestedTap { return nil }
        let h3 = relu(fc1(h2.flattened(axis: 1), context: context))
        context.record("fc1", h3)
        if tapsOnly && context.hasEveryRequestedTap { return nil }
        return fc2(h3, context: context)
    }
}
