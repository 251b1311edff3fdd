import NN
import TensorEngine
import Testing

@Suite("Models")
struct ModelTests {
    /// ResNet-20's parameter count from its architecture (He et al. 2016, section 4.2, with 1×1
    /// projection shortcuts): a 3×3 stem, three stages of three basic blocks, a linear head.
    static func resNet20ParameterCount(inputChannels c: Int, classes: Int, width w: Int = 16) -> Int {
        let conv3 = { (i: Int, o: Int) in 9 * i * o }
        let bn = { (ch: Int) in 2 * ch }
        var total = conv3(c, w) + bn(w)
        var channels = w
        for stage in 0..<3 {
            let out = w << stage
            for _ in 0..<3 {
                total += conv3(channels, out) + bn(out) + conv3(out, out) + bn(out)
                if channels != out { total += channels * out + bn(out) }  // 1×1 projection + bn
                channels = out
            }
        }
        return total + channels * classes + classes
    }

    @Test func resNet20OutputShapeAndParameterCount() {
        let model = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, seed: 1)
        let x = randomTensor([2, 1, 28, 28], seed: 7)
        #expect(model.logits(x).shape == [2, 10])
        #expect(model.parameterCount == Self.resNet20ParameterCount(inputChannels: 1, classes: 10))
        let rgb = ResNet20(inputChannels: 3, classes: 10, seed: 1)
        let expected = Self.resNet20ParameterCount(inputChannels: 3, classes: 10)
        #expect(rgb.parameterCount == expected)
        #expect(expected == 272_474)  // the "0.27M" of the paper's Table 6, with projection shortcuts
        #expect(rgb.inputShape == [3, 32, 32] && model.inputShape == [1, 28, 28])
        #expect(model.inputBounds == 0...1 && model.classCount == 10)
    }

    @Test func resNet20NamesAreDottedAndUnique() {
        let model = ResNet20(inputChannels: 3, classes: 10, width: 4, seed: 2)
        let names = model.parameters.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.first == "conv1.weight")
        #expect(names.contains("stage1.block0.conv1.weight"))
        #expect(names.contains("stage2.block0.shortcut.conv.weight"))
        #expect(names.contains("stage3.block2.bn2.bias"))
        #expect(!names.contains("stage1.block0.shortcut.conv.weight"))
        #expect(names.suffix(2) == ["fc.weight", "fc.bias"])
        let buffers = model.buffers.map(\.name)
        #expect(Set(buffers).count == buffers.count)
        // One BN after the stem, two per block, one per projection: 1 + 18 + 2.
        #expect(buffers.count == 2 * 21)
        #expect(buffers.contains("stage3.block0.shortcut.bn.running_var"))
    }

    @Test func resNet20TapsHaveStageShapes() {
        let model = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, seed: 3)
        let x = randomTensor([3, 1, 28, 28], seed: 7)
        let (logits, features) = withoutGradients {
            model.logitsAndFeatures(x, taps: ["stage1", "stage2", "stage3", "pool"])
        }
        #expect(logits.shape == [3, 10])
        #expect(features["stage1"]?.shape == [3, 16, 28, 28])
        #expect(features["stage2"]?.shape == [3, 32, 14, 14])
        #expect(features["stage3"]?.shape == [3, 64, 7, 7])
        #expect(features["pool"]?.shape == [3, 64])
        // Taps do not change the logits.
        #expect(model.logits(x).scalars == logits.scalars)
        // A recorded pass keeps the taps on the tape, so feature losses can be differentiated.
        let tracked = model.logitsAndFeatures(x, taps: ["stage2"]).features["stage2"]
        #expect(tracked?.isTracked == true)
    }

    /// A taps-only pass records the same maps as a whole pass and stops after the deepest one: in
    /// training mode the batch norms before it move their statistics as a whole pass does, those after
    /// it keep theirs.
    @Test func aTapsOnlyPassStopsAfterTheDeepestTap() {
        let x = randomTensor([4, 1, 8, 8], seed: 7)
        let whole = ResNet20(inputChannels: 1, imageSize: 8, width: 4, seed: 3)
        let truncated = ResNet20(inputChannels: 1, imageSize: 8, width: 4, seed: 3)
        let untouched = truncated.buffers.map(\.value.scalars)
        let wholeContext = ForwardContext(isTraining: true, requestedTaps: ["stage1", "stage2"])
        _ = whole.logits(x, context: wholeContext)
        let tapsContext = ForwardContext(isTraining: true, requestedTaps: ["stage1", "stage2"])
        truncated.recordTaps(x, context: tapsContext)
        #expect(tapsContext.hasEveryRequestedTap)
        for tap in ["stage1", "stage2"] {
            #expect(tapsContext.taps[tap]?.scalars == wholeContext.taps[tap]?.scalars, "\(tap)")
        }
        for (index, (a, b)) in zip(whole.buffers, truncated.buffers).enumerated() {
            if a.name.hasPrefix("stage3") {
                #expect(b.value.scalars == untouched[index], "\(b.name) moved")
                #expect(a.value.scalars != untouched[index], "\(a.name) did not move in the whole pass")
            } else {
                #expect(b.value.scalars == a.value.scalars, "\(b.name)")
            }
        }
        let cnn = SmallCNN(inputChannels: 1, height: 28, width: 28, classes: 10, seed: 4)
        let image = randomTensor([2, 1, 28, 28], seed: 8)
        let full = cnn.logitsAndFeatures(image, taps: ["conv2"]).features["conv2"]
        let context = ForwardContext(requestedTaps: ["conv2"])
        cnn.recordTaps(image, context: context)
        #expect(context.taps["conv2"]?.scalars == full?.scalars)
    }

    @Test func smallCNNShapesAndTaps() {
        let model = SmallCNN(inputChannels: 1, height: 28, width: 28, classes: 10, seed: 4)
        let x = randomTensor([2, 1, 28, 28], seed: 7)
        let (logits, features) = model.logitsAndFeatures(x, taps: model.featureTapNames)
        #expect(logits.shape == [2, 10])
        #expect(features["conv1"]?.shape == [2, 32, 14, 14])
        #expect(features["conv2"]?.shape == [2, 64, 7, 7])
        #expect(features["fc1"]?.shape == [2, 128])
        #expect(model.parameterCount == (9 * 32 + 32) + (9 * 32 * 64 + 64) + (64 * 49 * 128 + 128) + (128 * 10 + 10))
        #expect(
            model.parameters.map(\.name) == [
                "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight",
                "fc2.bias",
            ]
        )
    }

    @Test func equalSeedsGiveEqualModels() {
        let a = ResNet20(inputChannels: 1, imageSize: 8, classes: 3, width: 4, seed: 9)
        let b = ResNet20(inputChannels: 1, imageSize: 8, classes: 3, width: 4, seed: 9)
        let c = ResNet20(inputChannels: 1, imageSize: 8, classes: 3, width: 4, seed: 10)
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value.scalars == $1.value.scalars })
        #expect(!zip(a.parameters, c.parameters).allSatisfy { $0.value.scalars == $1.value.scalars })
    }
}
