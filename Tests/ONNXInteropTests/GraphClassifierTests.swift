import Foundation
import NN
import SwiftProtobuf
import TensorEngine
import Testing

@testable import ONNXInterop

@Suite("Imported graphs as classifiers")
struct GraphClassifierTests {
    /// A ResNet-20 built in NN, exported and imported: the same logits, every stage output among the
    /// 4-D taps with its shape, the same parameter count, and training steps on the graph lower the loss.
    @Test func anExportedResNetRunsAndTrainsAsAClassifier() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 8, width: 4, seed: 3)
        let graph = try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net)))
        let classifier = try GraphClassifier(graph, exampleShape: [1, 8, 8])
        #expect(classifier.classCount == 10)
        #expect(classifier.parameters.map(\.count).reduce(0, +) == net.parameters.map(\.count).reduce(0, +))
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.uniform([5, 1, 8, 8], using: &rng)
        let expected = net.logits(x, context: ForwardContext())
        let actual = classifier.logits(x, context: ForwardContext())
        let difference = zip(expected.scalars, actual.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-4, "\(difference)")
        let shapes = Set(classifier.featureShapes.map(\.shape))
        #expect(shapes.isSuperset(of: [[4, 8, 8], [8, 4, 4], [16, 2, 2]]))

        let context = ForwardContext(isTraining: true, requestedTaps: [classifier.featureTapNames[0]])
        _ = classifier.logits(x, context: context)
        #expect(context.taps[classifier.featureTapNames[0]]?.rank == 4)

        var optimizer = SGD(learningRate: 0.05, momentum: 0.9)
        let labels = [0, 1, 2, 3, 4]
        let first = trainStep(model: classifier, optimizer: &optimizer, inputs: x, labels: labels)
        var last = first
        for _ in 0..<20 { last = trainStep(model: classifier, optimizer: &optimizer, inputs: x, labels: labels) }
        #expect(classifier.lastError == nil)
        #expect(last < first * 0.5, "\(first) → \(last)")
    }

    /// A taps-only run records the same map as a whole run and runs no node after it: in training
    /// mode the batch norms after the tap keep their statistics.
    @Test func aTapsOnlyRunStopsAtTheTap() throws {
        func classifier() throws -> GraphClassifier {
            let net = ResNet20(inputChannels: 1, imageSize: 8, width: 4, seed: 3)
            return try GraphClassifier(
                try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net))),
                exampleShape: [1, 8, 8]
            )
        }
        let whole = try classifier()
        let truncated = try classifier()
        let before = truncated.buffers.map(\.value.scalars)
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.uniform([5, 1, 8, 8], using: &rng)
        // The first 8-channel map: the output of the first block of the second stage.
        let tap = try #require(whole.featureShapes.first { $0.shape == [8, 4, 4] }?.name)
        let wholeContext = ForwardContext(isTraining: true, requestedTaps: [tap])
        _ = whole.logits(x, context: wholeContext)
        let tapsContext = ForwardContext(isTraining: true, requestedTaps: [tap])
        truncated.recordTaps(x, context: tapsContext)
        #expect(truncated.lastError == nil)
        #expect(tapsContext.taps[tap]?.scalars == wholeContext.taps[tap]?.scalars)
        let moved = zip(truncated.buffers, before).filter { $0.value.scalars != $1 }.count
        let movedInWhole = zip(whole.buffers, before).filter { $0.value.scalars != $1 }.count
        #expect(movedInWhole == whole.buffers.count)
        #expect(moved > 0 && moved < movedInWhole, "\(moved) of \(movedInWhole)")
        for (index, (a, b)) in zip(whole.buffers, truncated.buffers).enumerated() where b.value.scalars != before[index]
        {
            #expect(a.value.scalars == b.value.scalars, "\(b.name)")
        }
    }

    /// A final Softmax is skipped: the logits are its input.
    @Test func aFinalSoftmaxIsReadThrough() throws {
        let net = SmallCNN(inputChannels: 1, height: 8, width: 8, classes: 3, seed: 1)
        let bytes = try NNExport.exportedModel(net)
        var model = try ONNXModel(serialized: bytes)
        var proto = model.proto
        let output = proto.graph.output[0].name
        var softmax = Onnx_NodeProto()
        softmax.opType = "Softmax"
        softmax.input = [output]
        softmax.output = ["probabilities"]
        softmax.name = "final_softmax"
        proto.graph.node.append(softmax)
        proto.graph.output[0].name = "probabilities"
        model = try ONNXModel(serialized: try proto.serializedData())
        let classifier = try GraphClassifier(try ImportedGraph(model), exampleShape: [1, 8, 8])
        #expect(classifier.logitsName == output)
        var rng = RandomGenerator(seed: 2)
        let x = Tensor.uniform([2, 1, 8, 8], using: &rng)
        let difference =
            zip(
                net.logits(x, context: ForwardContext()).scalars,
                classifier.logits(x, context: ForwardContext()).scalars
            )
            .map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-4)
    }
}
