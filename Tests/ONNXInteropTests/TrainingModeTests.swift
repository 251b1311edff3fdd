import Foundation
import NN
import SwiftProtobuf
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

private let testData = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

private func graph(_ path: String, options: ImportOptions = ImportOptions()) throws -> ImportedGraph {
    let url = testData.appendingPathComponent(path).appendingPathComponent("model.onnx")
    return try ImportedGraph(try ONNXModel(contentsOf: url), options: options)
}

@Suite("Imported graphs: trainable initializers, batch-norm training mode, output kinds")
struct TrainingModeTests {
    @Test func weightsAreParametersAndStatisticsAreBuffers() throws {
        let bn = try graph("pytorch-converted/test_BatchNorm2d_momentum_eval")
        #expect(bn.parameters.map(\.name) == ["1", "2"])
        #expect(bn.buffers.map(\.name) == ["3", "4"])
        #expect(bn.roles == ["1": .weight, "2": .weight, "3": .runningStatistic, "4": .runningStatistic])
        let linear = try graph("pytorch-converted/test_Linear")
        #expect(linear.parameters.map(\.name) == ["1", "2"])
        #expect(linear.buffers.isEmpty)
    }

    @Test func optionsFreezeAndRejectUnknownNames() throws {
        let frozen = try graph("pytorch-converted/test_Linear", options: ImportOptions(frozen: ["2"]))
        #expect(frozen.parameters.map(\.name) == ["1"])
        #expect(frozen.roles["2"] == .constant)
        let error = #expect(throws: ONNXError.self) {
            try graph("pytorch-converted/test_Linear", options: ImportOptions(alsoTrainable: ["nope"]))
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.description.contains("nope") == true)
    }

    /// Training mode normalises with the batch's statistics (checked in Double against the
    /// definition) and folds them into the running statistics with PyTorch's unbiased variance.
    @Test func batchNormTrainingModeUsesAndUpdatesStatistics() throws {
        let bn = try graph("pytorch-converted/test_BatchNorm2d_momentum_eval")
        let momentum = 0.2  // the node's `momentum` attribute: the weight of the old running value
        let epsilon = 1e-3
        var rng = RandomGenerator(seed: 5)
        let (n, c, h, w) = (4, 3, 5, 2)
        let x = Tensor(shape: [n, c, h, w], scalars: (0..<(n * c * h * w)).map { _ in rng.nextNormal() * 2 + 1 })
        let scale = bn.parameters[0].value.scalars.map(Double.init)
        let shift = bn.parameters[1].value.scalars.map(Double.init)
        let oldMean = bn.buffers[0].value.scalars.map(Double.init)
        let oldVariance = bn.buffers[1].value.scalars.map(Double.init)

        let evalOutput = try #require(try bn.run(["0": x])[bn.outputNames[0]])
        #expect(bn.buffers[0].value.scalars.map(Double.init) == oldMean, "an inference run changes nothing")

        bn.isTraining = true
        let y = try #require(try bn.run(["0": x])[bn.outputNames[0]])
        let m = n * h * w
        for channel in 0..<c {
            var values: [Double] = []
            for i in 0..<n { for s in 0..<(h * w) { values.append(Double(x.scalars[(i * c + channel) * h * w + s])) } }
            let mean = values.reduce(0, +) / Double(m)
            let biased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m)
            for i in 0..<n {
                for s in 0..<(h * w) {
                    let index = (i * c + channel) * h * w + s
                    let expected =
                        (Double(x.scalars[index]) - mean) / (biased + epsilon).squareRoot() * scale[channel]
                        + shift[channel]
                    #expect(abs(Double(y.scalars[index]) - expected) < 1e-4)
                }
            }
            let runningMean = momentum * oldMean[channel] + (1 - momentum) * mean
            let runningVariance = momentum * oldVariance[channel] + (1 - momentum) * biased * Double(m) / Double(m - 1)
            #expect(abs(Double(bn.buffers[0].value.scalars[channel]) - runningMean) < 1e-5)
            #expect(abs(Double(bn.buffers[1].value.scalars[channel]) - runningVariance) < 1e-4)
        }
        #expect(y.scalars != evalOutput.scalars)

        // A failing run updates nothing.
        let before = bn.buffers.map(\.value.scalars)
        #expect(throws: ONNXError.self) { try bn.run(["0": x], outputs: ["no such value"]) }
        #expect(bn.buffers.map(\.value.scalars) == before)
    }

    /// The weight gradient through a training-mode batch norm equals finite differences.
    @Test func trainingModeWeightGradientMatchesFiniteDifferences() throws {
        let bn = try graph("pytorch-converted/test_BatchNorm2d_momentum_eval")
        bn.isTraining = true
        var rng = RandomGenerator(seed: 9)
        let x = Tensor(shape: [3, 3, 2, 2], scalars: (0..<36).map { _ in rng.nextNormal() })
        let result = GradientCheck.check([bn.parameters[0].value], step: 1e-2) { ps in
            bn.parameters[0].value = ps[0]
            let y = (try? bn.run(["0": x]))?[bn.outputNames[0]] ?? Tensor(0)
            return GradientCheck.projection(y)
        }
        #expect(result.passed, "\(result)")
    }

    @Test func terminalSoftmaxIsDetected() throws {
        let conv = try graph("pytorch-converted/test_Conv2d")
        #expect(conv.outputAnalyses.map(\.kind) == [.logits])
        let softmax = try graph("pytorch-converted/test_Softmax")
        let analysis = try #require(softmax.outputAnalyses.first)
        #expect(analysis.kind == .probabilities)
        #expect(analysis.logitsName == "0")
        let logSoftmax = try graph("pytorch-converted/test_LogSoftmax")
        #expect(logSoftmax.outputAnalyses.first?.kind == .logProbabilities)
    }

    /// Softmax followed by shape-only operators is still terminal; one followed by arithmetic is not.
    @Test func softmaxThroughShapeOperators() throws {
        func model(after op: String) throws -> ImportedGraph {
            var proto = Onnx_ModelProto()
            proto.irVersion = 8
            var opset = Onnx_OperatorSetIdProto()
            opset.version = 17
            proto.opsetImport = [opset]
            var softmax = Onnx_NodeProto()
            softmax.opType = "Softmax"
            softmax.name = "probabilities"
            softmax.input = ["x"]
            softmax.output = ["p"]
            var next = Onnx_NodeProto()
            next.opType = op
            next.input = ["p"]
            next.output = ["y"]
            proto.graph.node = [softmax, next]
            for name in ["x", "y"] {
                var value = Onnx_ValueInfoProto()
                value.name = name
                value.type.tensorType.elemType = 1
                if name == "x" { proto.graph.input = [value] } else { proto.graph.output = [value] }
            }
            return try ImportedGraph(try ONNXModel(serialized: try proto.serializedData()))
        }
        let flattened = try model(after: "Flatten").outputAnalyses[0]
        #expect(
            flattened == OutputAnalysis(name: "y", kind: .probabilities, logitsName: "x", softmaxNode: "probabilities")
        )
        #expect(try model(after: "Neg").outputAnalyses[0].kind == .logits)
    }
}
