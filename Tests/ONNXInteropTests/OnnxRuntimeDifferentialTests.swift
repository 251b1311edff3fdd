import Foundation
import NN
import SwiftProtobuf
import TensorEngine
import Testing

@testable import ONNXInterop

/// onnxruntime from the project venv (`scripts/bootstrap --python`), run through scripts/ort_run.py.
enum OnnxRuntime {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct OutputEntry: Decodable {
        var name: String
        var shape: [Int]
        var file: String
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The venv's python; a missing venv is a failure that says how to make it, never a skip.
    static func python() throws -> URL {
        let python = repositoryRoot.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Failure(
                description: "\(python.path) is missing: the onnxruntime differential tests need the project "
                    + "venv; run `scripts/bootstrap --python` (make test does) and run the tests again"
            )
        }
        return python
    }

    /// Runs the model file with onnxruntime on `inputs` (float32) and returns every graph output.
    static func run(model: URL, inputs: [String: Tensor]) throws -> [String: Tensor] {
        let python = try python()
        let directory = try TemporaryDirectory()
        var arguments = [repositoryRoot.appendingPathComponent("scripts/ort_run.py").path, model.path]
        for (index, (name, tensor)) in inputs.sorted(by: { $0.key < $1.key }).enumerated() {
            let file = directory.url.appendingPathComponent("input_\(index).bin")
            try TensorEncoding.littleEndianBytes(tensor.scalars.map(\.bitPattern)).write(to: file)
            arguments += ["--input", "\(name)=\(file.path):\(tensor.shape.map(String.init).joined(separator: "x"))"]
        }
        let outputDirectory = directory.url.appendingPathComponent("out")
        arguments += ["--output-dir", outputDirectory.path]

        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "onnxruntime failed (exit \(process.terminationStatus)): "
                    + (String(data: message, encoding: .utf8) ?? "")
            )
        }
        let manifest = try JSONDecoder().decode(
            [OutputEntry].self,
            from: Data(contentsOf: outputDirectory.appendingPathComponent("outputs.json"))
        )
        var outputs: [String: Tensor] = [:]
        for entry in manifest {
            let bytes = try Data(contentsOf: outputDirectory.appendingPathComponent(entry.file))
            let scalars = bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
            outputs[entry.name] = Tensor(shape: entry.shape, scalars: scalars)
        }
        return outputs
    }

    /// Writes `model` to a temporary file and runs it.
    static func run(model: Data, inputs: [String: Tensor]) throws -> [String: Tensor] {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("model.onnx")
        try model.write(to: file)
        return try run(model: file, inputs: inputs)
    }
}

/// A fresh directory under the system's temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Expects `actual` to equal `expected` elementwise within `tolerance`·(1 + |expected|) and
/// returns the largest absolute difference.
@discardableResult
func expectClose(
    _ actual: Tensor?,
    _ expected: Tensor,
    tolerance: Float = 1e-4,
    _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Float {
    guard let actual else {
        Issue.record("\(label): no output", sourceLocation: sourceLocation)
        return .infinity
    }
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return .infinity
    }
    var largest: Float = 0
    var worst: (index: Int, excess: Float)?
    for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
        let difference = abs(a - e)
        largest = max(largest, difference.isNaN ? .infinity : difference)
        let excess = difference - tolerance * (1 + abs(e))
        if !(excess <= 0), excess > (worst?.excess ?? -.infinity) || excess.isNaN { worst = (i, excess) }
    }
    if let worst {
        let message =
            "\(label): element \(worst.index) is \(actual.scalars[worst.index]), expected "
            + "\(expected.scalars[worst.index]) (tolerance \(tolerance) relative/absolute)"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
    print("\(label): max |difference| = \(largest)")
    return largest
}

/// The largest absolute elementwise difference of two tensors of one shape.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxDifference: \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

private let testData = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

/// The first input of a libonnx-testdata case, as shipped.
private func shippedInput(_ path: String, _ index: Int = 0) throws -> Tensor {
    let file = testData.appendingPathComponent(path).appendingPathComponent("test_data_set_0/input_\(index).pb")
    return try ONNXTensorFile.decode(Data(contentsOf: file)).tensor
}

/// ONNX's BatchNormalization example (node/test_batchnorm_example, opset 15) with its scale, bias,
/// mean and variance moved from graph inputs into initializers, holding the values of the
/// shipped test data set. libonnx-testdata's models that keep batch-norm weights as initializers
/// are opset 6, which onnxruntime no longer implements for BatchNormalization.
func batchNormExampleWithInitializers() throws -> Data {
    let directory = testData.appendingPathComponent("node/test_batchnorm_example")
    var proto = try Onnx_ModelProto(serializedBytes: Data(contentsOf: directory.appendingPathComponent("model.onnx")))
    var kept: [Onnx_ValueInfoProto] = []
    for (index, input) in proto.graph.input.enumerated() {
        guard index > 0 else {
            kept.append(input)
            continue
        }
        let file = directory.appendingPathComponent("test_data_set_0/input_\(index).pb")
        var tensor = try Onnx_TensorProto(serializedBytes: Data(contentsOf: file))
        tensor.name = input.name
        proto.graph.initializer.append(tensor)
    }
    proto.graph.input = kept
    return try proto.serializedBytes()
}

/// Sets every batch norm's scale and shift to random values and runs training-mode passes so the
/// running statistics are far from their initial zeros and ones.
private func makeBatchNormNonTrivial(_ net: ResNet20, rng: inout RandomGenerator) {
    for p in net.parameters where p.name.split(separator: ".").dropLast().last?.hasPrefix("bn") == true {
        let values = (0..<p.count).map { _ in
            p.name.hasSuffix(".weight") ? 0.5 + rng.nextUniform() : 0.2 * rng.nextNormal()
        }
        p.value = Tensor(shape: p.shape, scalars: values)
    }
    withoutGradients {
        for pass in 0..<3 {
            let x = Tensor.uniform([8] + net.inputShape, low: Float(pass) * 0.3, high: 1.5, using: &rng)
            _ = net.logits(x, context: ForwardContext(isTraining: true))
        }
    }
}

@Suite("Exported models against onnxruntime")
struct OnnxRuntimeDifferentialTests {
    /// ResNet-20 (width 8) with trained-looking batch norm: onnxruntime's logits on the export
    /// equal NN's evaluation forward, and so do the logits of the export imported back.
    @Test func resNet20ExportMatchesOnnxRuntimeAndReimports() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, width: 8, seed: 20)
        var rng = RandomGenerator(seed: 21)
        makeBatchNormNonTrivial(net, rng: &rng)
        let runningMean = try #require(net.buffer(named: "stage2.block0.bn1.running_mean"))
        #expect(runningMean.value.scalars.contains { abs($0) > 0.01 }, "running statistics were updated")

        let x = Tensor.uniform([4, 1, 28, 28], using: &rng)
        let expected = net.logits(x)
        let model = try NNExport.exportedModel(net)
        let onnxruntime = try OnnxRuntime.run(model: model, inputs: ["input": x])
        expectClose(onnxruntime["logits"], expected, "ResNet20 export, onnxruntime vs NN")

        let imported = try ImportedGraph(try ONNXModel(serialized: model))
        #expect(imported.inputNames == ["input"] && imported.outputNames == ["logits"])
        let reimported = try withoutGradients { try imported.run(["input": x]) }
        expectClose(reimported["logits"], expected, "ResNet20 export, reimported vs NN")
    }

    /// SmallCNN, batch 3 (the batch dimension is symbolic): onnxruntime and the reimported graph
    /// give NN's logits.
    @Test func smallCNNExportMatchesOnnxRuntimeAndReimports() throws {
        let net = SmallCNN(inputChannels: 1, height: 28, width: 28, classes: 10, seed: 30)
        var rng = RandomGenerator(seed: 31)
        let x = Tensor.uniform([3, 1, 28, 28], using: &rng)
        let expected = net.logits(x)
        let model = try NNExport.exportedModel(net)
        let onnxruntime = try OnnxRuntime.run(model: model, inputs: ["input": x])
        expectClose(onnxruntime["logits"], expected, "SmallCNN export, onnxruntime vs NN")

        let imported = try ImportedGraph(try ONNXModel(serialized: model))
        let reimported = try withoutGradients { try imported.run(["input": x]) }
        expectClose(reimported["logits"], expected, "SmallCNN export, reimported vs NN")
        #expect(Set(imported.parameters.map(\.name)) == Set(net.parameters.map(\.name)))
    }

    /// A model exported without training runs in onnxruntime with bit-identical outputs.
    @Test func unchangedExportRunsIdentically() throws {
        let path = "pytorch-converted/test_Conv2d"
        let file = testData.appendingPathComponent(path).appendingPathComponent("model.onnx")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: file))
        let x = try shippedInput(path)
        let inputs = [graph.inputNames[0]: x]
        let original = try OnnxRuntime.run(model: file, inputs: inputs)
        let exported = try OnnxRuntime.run(model: try graph.exportedModel(), inputs: inputs)
        let name = graph.outputNames[0]
        let a = try #require(original[name])
        let b = try #require(exported[name])
        #expect(a.shape == b.shape && a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern))
    }

    /// One SGD step on an imported libonnx-testdata model's weights; the export, run by
    /// onnxruntime, gives our graph's outputs after the step, which differ from those before it.
    @Test(arguments: ["pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_no_bias", "batchnorm"])
    func trainedWeightsReachOnnxRuntime(_ name: String) throws {
        let graph: ImportedGraph
        let x: Tensor
        if name == "batchnorm" {
            graph = try ImportedGraph(try ONNXModel(serialized: try batchNormExampleWithInitializers()))
            x = try shippedInput("node/test_batchnorm_example")
            #expect(graph.parameters.count == 2 && graph.buffers.count == 2)
        } else {
            let file = testData.appendingPathComponent(name).appendingPathComponent("model.onnx")
            graph = try ImportedGraph(try ONNXModel(contentsOf: file))
            x = try shippedInput(name)
        }
        let input = graph.inputNames[0]
        let output = graph.outputNames[0]
        let before = try #require(try withoutGradients { try graph.run([input: x]) }[output])

        // The step runs in training mode, so batch norm also updates its running statistics.
        graph.isTraining = true
        var rng = RandomGenerator(seed: 40)
        let y = try #require(try graph.run([input: x])[output])
        let target = Tensor.normal(y.shape, using: &rng)
        let loss = ((y - target) * (y - target)).mean()
        let gradients = gradient(of: loss, wrt: graph.parameters.map(\.value))
        var sgd = SGD(learningRate: 0.5)
        sgd.step(graph.parameters, gradients: gradients)
        graph.isTraining = false

        let after = try #require(try withoutGradients { try graph.run([input: x]) }[output])
        #expect(maxDifference(after, before) > 1e-2, "the step changed the outputs")
        let exported = try graph.exportedModel(metadata: ["operation": "sgd-test"])
        let onnxruntime = try #require(try OnnxRuntime.run(model: exported, inputs: [input: x])[output])
        expectClose(onnxruntime, after, "\(name) after one SGD step, onnxruntime vs ImportedGraph")
        #expect(maxDifference(onnxruntime, before) > 1e-2, "onnxruntime sees the new weights")
    }

    /// Initializers kept as float16, bfloat16, double and float_data take new values; onnxruntime
    /// runs the export and agrees with the export imported back (which reads the rounded values).
    @Test func initializersOfEveryFloatTypeReachOnnxRuntime() throws {
        let graph = try ImportedGraph(
            try ONNXModel(serialized: try ExportFixtures.mixedPrecisionModel()),
            options: ImportOptions(alsoTrainable: Set(ExportFixtures.mixedPrecisionInitializers))
        )
        ExportFixtures.perturb(graph.parameters)
        var rng = RandomGenerator(seed: 50)
        let x = Tensor.normal([1, 2, 4, 4], using: &rng)
        let exported = try graph.exportedModel()
        let reimported = try ImportedGraph(try ONNXModel(serialized: exported))
        let expected = try #require(try withoutGradients { try reimported.run(["X": x]) }["Y"])
        let original = try ImportedGraph(try ONNXModel(serialized: try ExportFixtures.mixedPrecisionModel()))
        let before = try #require(try withoutGradients { try original.run(["X": x]) }["Y"])
        let onnxruntime = try OnnxRuntime.run(model: exported, inputs: ["X": x])
        expectClose(onnxruntime["Y"], expected, "mixed-precision export, onnxruntime vs reimported")
        #expect(maxDifference(expected, before) > 1e-2)
    }
}
