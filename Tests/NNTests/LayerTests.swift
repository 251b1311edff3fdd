import NN
import TensorEngine
import Testing

@Suite("Layers")
struct LayerTests {
    @Test func conv2DShapesAndInitialisation() {
        var rng = RandomGenerator(seed: 1)
        let conv = Conv2D(inChannels: 3, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        let y = conv(Tensor(zeros: [2, 3, 9, 9]))
        #expect(y.shape == [2, 8, 5, 5])
        #expect(conv.parameters.map(\.name) == ["weight", "bias"])
        #expect(conv.parameters.map(\.shape) == [[8, 3, 3, 3], [8]])
        // He-normal: standard deviation √(2/fanIn) = √(2/27), biases zero.
        let w = conv.weight.value.scalars.map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(std - (2.0 / 27).squareRoot()) < 0.06)
        #expect(conv.bias?.value.scalars.allSatisfy { $0 == 0 } == true)
        let noBias = Conv2D(inChannels: 3, outChannels: 4, kernelSize: 1, bias: false, rng: &rng)
        #expect(noBias.parameters.count == 1)
        #expect(noBias(Tensor(zeros: [1, 3, 4, 4])).shape == [1, 4, 4, 4])
    }

    @Test func linearComputesXWTransposePlusBias() {
        let layer = Linear(
            weight: Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]),
            bias: Tensor(shape: [2], scalars: [10, 20])
        )
        let y = layer(Tensor(shape: [2, 3], scalars: [1, 0, 0, 1, 1, 1]))
        #expect(y.shape == [2, 2])
        #expect(y.scalars == [11, 24, 16, 35])
        var rng = RandomGenerator(seed: 2)
        let fresh = Linear(inFeatures: 16, outFeatures: 5, rng: &rng)
        // PyTorch's default: U(±1/√in) = U(±0.25).
        #expect(fresh.parameters.allSatisfy { $0.value.scalars.allSatisfy { abs($0) <= 0.25 } })
        #expect(fresh.weight.shape == [5, 16])
    }

    @Test func poolingFlattenAndReLUShapes() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([2, 3, 8, 6], low: -1, high: 1, using: &rng)
        #expect(MaxPool2D(kernelSize: 2)(x).shape == [2, 3, 4, 3])
        #expect(MaxPool2D(kernelSize: 3, stride: 1, padding: 1)(x).shape == [2, 3, 8, 6])
        #expect(AvgPool2D(kernelSize: 2)(x).shape == [2, 3, 4, 3])
        let gap = GlobalAvgPool2D()(x)
        #expect(gap.shape == [2, 3, 1, 1])
        let channelMean = (0..<48).map { x.scalars[$0] }.reduce(0, +) / 48
        #expect(abs(gap.scalars[0] - channelMean) < 1e-6)
        #expect(Flatten()(x).shape == [2, 144])
        #expect(ReLU()(x).scalars.allSatisfy { $0 >= 0 })
    }

    @Test func sequentialNamesChildrenWithDottedPaths() {
        var rng = RandomGenerator(seed: 3)
        let inner = Sequential(named: [
            ("conv", Conv2D(inChannels: 1, outChannels: 2, kernelSize: 3, rng: &rng)),
            ("bn", BatchNorm2D(channels: 2)),
        ])
        let model = Sequential([inner, ReLU(), Flatten(), Linear(inFeatures: 8, outFeatures: 3, rng: &rng)])
        #expect(
            model.parameters.map(\.name) == [
                "0.conv.weight", "0.conv.bias", "0.bn.weight", "0.bn.bias", "3.weight", "3.bias",
            ]
        )
        #expect(model.buffers.map(\.name) == ["0.bn.running_mean", "0.bn.running_var"])
        #expect(model(Tensor(zeros: [5, 1, 4, 4])).shape == [5, 3])
        #expect(model.parameterCount == 18 + 2 + 4 + 24 + 3)
    }

    @Test func tapRecordsOnlyWhenRequested() {
        let model = Sequential([ReLU(), Tap("hidden"), Flatten()])
        let x = Tensor(shape: [1, 1, 1, 2], scalars: [-1, 2])
        let quiet = ForwardContext()
        _ = model(x, context: quiet)
        #expect(quiet.taps.isEmpty)
        let asking = ForwardContext(requestedTaps: ["hidden"])
        _ = model(x, context: asking)
        #expect(asking.taps["hidden"]?.scalars == [0, 2])
    }

    @Test(arguments: [(16, 16, 1), (16, 32, 2), (8, 8, 2)])
    func basicBlockShapesAndShortcut(inChannels: Int, outChannels: Int, stride: Int) {
        var rng = RandomGenerator(seed: 4)
        let block = BasicBlock(inChannels: inChannels, outChannels: outChannels, stride: stride, rng: &rng)
        let y = block(Tensor.uniform([2, inChannels, 8, 8], using: &rng), context: ForwardContext(isTraining: true))
        #expect(y.shape == [2, outChannels, 8 / stride, 8 / stride])
        #expect(y.scalars.allSatisfy { $0 >= 0 })
        let projects = stride != 1 || inChannels != outChannels
        #expect((block.shortcut != nil) == projects)
        var expected = 9 * inChannels * outChannels + 9 * outChannels * outChannels + 4 * outChannels
        if projects { expected += inChannels * outChannels + 2 * outChannels }
        #expect(block.parameterCount == expected)
        let names = block.parameters.map(\.name)
        #expect(names.contains("conv1.weight") && names.contains("bn2.bias"))
        #expect(names.contains("shortcut.conv.weight") == projects)
        #expect(block.buffers.count == (projects ? 6 : 4))
    }

    @Test func parameterKeepsATrackedLeaf() {
        let p = Parameter(name: "w", value: Tensor(shape: [2], scalars: [1, 2]))
        #expect(p.value.isTracked)
        p.value = Tensor(shape: [2], scalars: [3, 4])
        #expect(p.value.isTracked && p.value.scalars == [3, 4])
        // A caller's own leaf is kept, so gradients flow to it.
        let leaf = Tensor(shape: [2], scalars: [5, 6]).tracked()
        p.value = leaf
        let g = gradient(of: (p.value * p.value).sum(), wrt: [leaf])[0]
        #expect(g.scalars == [10, 12])
        let b = Buffer(name: "b", value: leaf)
        #expect(!b.value.isTracked)
    }
}
