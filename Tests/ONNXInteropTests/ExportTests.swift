import Foundation
import NN
import SwiftProtobuf
import TensorEngine
import Testing

@testable import ONNXInterop

private let testData = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

private func protoFile(_ path: String) throws -> (url: URL, proto: Onnx_ModelProto) {
    let url = testData.appendingPathComponent(path).appendingPathComponent("model.onnx")
    return (url, try Onnx_ModelProto(serializedBytes: Data(contentsOf: url)))
}

/// Models and helpers shared by the export tests and the onnxruntime differential tests.
enum ExportFixtures {
    /// The initializers of ``mixedPrecisionModel()`` that hold float data.
    static let mixedPrecisionInitializers = ["W16", "B16", "S64", "F32"]

    /// Y = reshape(conv(X, cast(W16), cast(B16), pads 1) · cast(S64) + F32, [1, -1]) with X (1,2,4,4):
    /// W16 float16 in raw_data, B16 bfloat16 in int32_data, S64 double in double_data, F32 float in
    /// float_data, and the int64 shape in int64_data. Values are exact in their types.
    static func mixedPrecisionModel() throws -> Data {
        var rng = RandomGenerator(seed: 3)
        func tensor(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Int]) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(type.rawValue)
            t.dims = dims.map { Int64($0) }
            return t
        }
        var w = tensor("W16", .float16, [3, 2, 3, 3])
        w.rawData = TensorEncoding.littleEndianBytes((0..<54).map { _ in Float16(0.3 * rng.nextNormal()).bitPattern })
        var b = tensor("B16", .bfloat16, [3])
        b.int32Data = (0..<3).map { _ in Int32(Float(0.5 * rng.nextNormal()).bitPattern >> 16) }
        var s = tensor("S64", .double, [1, 3, 1, 1])
        s.doubleData = [0.75, -1.25, 2.0]
        var f = tensor("F32", .float, [1, 3, 1, 1])
        f.floatData = [0.1, -0.2, 0.3]
        var shape = tensor("shape", .int64, [2])
        shape.int64Data = [1, -1]

        var graph = Onnx_GraphProto()
        graph.name = "mixed"
        graph.docString = "a graph with initializers in every float type"
        graph.node = [
            node("Cast", ["W16"], "Wf", [.int("to", 1)]),
            node("Cast", ["B16"], "Bf", [.int("to", 1)]),
            node("Conv", ["X", "Wf", "Bf"], "C", [.ints("pads", [1, 1, 1, 1])]),
            node("Cast", ["S64"], "Sf", [.int("to", 1)]),
            node("Mul", ["C", "Sf"], "M"),
            node("Add", ["M", "F32"], "A"),
            node("Reshape", ["A", "shape"], "Y"),
        ]
        graph.initializer = [w, b, s, f, shape]
        var x = Onnx_ValueInfoProto.floatTensor("X", batch: "N", dims: [2, 4, 4])
        x.type.tensorType.shape.dim[0].dimValue = 1
        graph.input = [x]
        graph.output = [.floatTensor("Y", batch: "N", dims: [48])]
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 17
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.opsetImport = [opset]
        model.producerName = "rkd-tests"
        model.graph = graph
        var author = Onnx_StringStringEntryProto()
        author.key = "author"
        author.value = "someone"
        var stale = Onnx_StringStringEntryProto()
        stale.key = "rkd.stale"
        stale.value = "from an earlier run"
        model.metadataProps = [author, stale]
        return try model.serializedBytes()
    }

    private static func node(
        _ op: String,
        _ inputs: [String],
        _ output: String,
        _ attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = output
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        return n
    }

    /// Gives every parameter a new value, v ↦ 1.5·v + 0.125, outside the tape.
    static func perturb(_ parameters: [Parameter]) {
        for p in parameters {
            p.value = Tensor(shape: p.shape, scalars: p.value.scalars.map { 1.5 * $0 + 0.125 })
        }
    }
}

/// A layer with no ONNX form.
private final class Doubling: Layer {
    var parameters: [Parameter] { [] }
    var buffers: [Buffer] { [] }
    func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor { x * 2 }
}

/// A classifier rkd does not know the structure of.
private final class OpaqueClassifier: Classifier {
    var parameters: [Parameter] { [] }
    var buffers: [Buffer] { [] }
    var inputShape: [Int] { [1, 4, 4] }
    var classCount: Int { 2 }
    var featureTapNames: [String] { [] }
    func logits(_ x: Tensor, context: ForwardContext) -> Tensor { x.flattened(axis: 1) }
}

@Suite("Exporting ONNX models")
struct ExportTests {
    /// After training, only the trained initializers' data differ: graph, nodes, opsets, inputs,
    /// outputs, doc strings and the other fields are the original's.
    @Test func trainedExportKeepsEverythingButTheReplacedInitializers() throws {
        let (url, original) = try protoFile("pytorch-converted/test_Conv2d")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: url))
        ExportFixtures.perturb(graph.parameters)
        let exported = try Onnx_ModelProto(serializedBytes: try graph.exportedModel())

        #expect(exported.graph.node == original.graph.node)
        #expect(exported.opsetImport == original.opsetImport)
        #expect(exported.irVersion == original.irVersion)
        #expect(exported.graph.input.map(\.name) == original.graph.input.map(\.name))
        #expect(exported.graph.output.map(\.name) == original.graph.output.map(\.name))
        #expect(exported.graph.initializer.map(\.name) == original.graph.initializer.map(\.name))
        for (new, old) in zip(exported.graph.initializer, original.graph.initializer) {
            #expect(new.dims == old.dims && new.dataType == old.dataType)
            #expect(new.rawData.count == old.rawData.count && new.rawData != old.rawData, "\(old.name) replaced")
            let decoded = try TensorDecoding.decode(new, limits: .default).asTensor
            let parameter = try #require(graph.parameters.first { $0.name == old.name })
            #expect(decoded.scalars == parameter.value.scalars)
        }
        // Everything else: the exported model with the original initializers and without rkd's
        // metadata is the original message.
        var restored = exported
        restored.graph.initializer = original.graph.initializer
        restored.metadataProps.removeAll { $0.key.hasPrefix("rkd.") }
        #expect(restored == original)
        #expect(exported.metadataProps.first { $0.key == "rkd.replaced_initializers" }?.value == "2")
    }

    /// Without training every initializer comes back with its own bytes.
    @Test func unchangedExportKeepsEveryInitializerByteForByte() throws {
        let (url, original) = try protoFile("pytorch-converted/test_BatchNorm2d_momentum_eval")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: url))
        let exported = try Onnx_ModelProto(serializedBytes: try graph.exportedModel())
        #expect(exported.graph == original.graph)
        #expect(exported.metadataProps.first { $0.key == "rkd.replaced_initializers" }?.value == "0")
    }

    /// Running statistics updated in training mode are buffers, and are exported too.
    @Test func updatedRunningStatisticsAreExported() throws {
        let (url, original) = try protoFile("pytorch-converted/test_BatchNorm2d_momentum_eval")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: url))
        graph.isTraining = true
        var rng = RandomGenerator(seed: 8)
        _ = try withoutGradients { try graph.run([graph.inputNames[0]: Tensor.normal([2, 3, 4, 4], using: &rng)]) }
        let exported = try Onnx_ModelProto(serializedBytes: try graph.exportedModel())
        let changed = zip(exported.graph.initializer, original.graph.initializer).filter { $0.0 != $0.1 }.map(\.0.name)
        #expect(changed == graph.buffers.map(\.name))
    }

    /// float16, bfloat16 and double stay in their type and their field; float_data stays typed;
    /// integer initializers are untouched; existing rkd entries are replaced, others kept.
    @Test func dataTypesStorageAndMetadataArePreserved() throws {
        let original = try Onnx_ModelProto(serializedBytes: try ExportFixtures.mixedPrecisionModel())
        let graph = try ImportedGraph(
            try ONNXModel(serialized: try original.serializedBytes()),
            options: ImportOptions(alsoTrainable: Set(ExportFixtures.mixedPrecisionInitializers))
        )
        #expect(graph.parameters.map(\.name) == ExportFixtures.mixedPrecisionInitializers)
        ExportFixtures.perturb(graph.parameters)
        let bytes = try graph.exportedModel(metadata: ["operation": "harden", "rkd.teacher": "t1"])
        let verdict = try ONNXModel(serialized: bytes).check()
        #expect(verdict.status == .valid, "libonnx's checker: \(verdict.message)")
        let exported = try Onnx_ModelProto(serializedBytes: bytes)
        let byName = Dictionary(uniqueKeysWithValues: exported.graph.initializer.map { ($0.name, $0) })
        for old in original.graph.initializer {
            let new = try #require(byName[old.name])
            #expect(new.dataType == old.dataType && new.dims == old.dims, "\(old.name)")
            #expect(new.rawData.isEmpty == old.rawData.isEmpty, "\(old.name) keeps its storage")
            guard let parameter = graph.parameters.first(where: { $0.name == old.name }) else {
                #expect(new == old, "\(old.name) is not trained and stays as it was")
                continue
            }
            let trained = parameter.value.scalars
            let decoded = try TensorDecoding.decode(new, limits: .default).asTensor.scalars
            switch old.name {
            case "W16":
                #expect(decoded == trained.map { Float(Float16($0)) })
            case "B16":
                #expect(new.int32Data.count == 3 && new.int32Data.allSatisfy { $0 >= 0 && $0 <= 0xFFFF })
                for (d, t) in zip(decoded, trained) {
                    #expect(abs(d - t) <= abs(t) / 256, "bfloat16 has 8 significant bits")
                    #expect(d.bitPattern & 0xFFFF == 0)
                }
            case "S64":
                #expect(new.doubleData == trained.map { Double($0) })
            default:
                #expect(new.floatData == trained)
            }
        }
        #expect(exported.graph.node == original.graph.node)
        #expect(exported.graph.docString == original.graph.docString)
        let metadata = exported.metadataProps.map { "\($0.key)=\($0.value)" }
        #expect(
            metadata == [
                "author=someone", "rkd.operation=harden", "rkd.replaced_initializers=4", "rkd.teacher=t1",
                "rkd.version=\(ExportMetadata.rkdVersion)",
            ]
        )
    }

    @Test func valuesATypeCannotHoldAreRefused() throws {
        let graph = try ImportedGraph(
            try ONNXModel(serialized: try ExportFixtures.mixedPrecisionModel()),
            options: ImportOptions(alsoTrainable: ["W16", "F32"])
        )
        let w = try #require(graph.parameters.first { $0.name == "W16" })
        var scalars = w.value.scalars
        scalars[5] = 70_000  // float16's largest finite value is 65504
        w.value = Tensor(shape: w.shape, scalars: scalars)
        let range = #expect(throws: ONNXError.self) { try graph.exportedModel() }
        #expect(range?.code == .invalidInput)
        #expect(range?.description.contains("W16") == true && range?.description.contains("float16") == true)

        w.value = Tensor(shape: w.shape, scalars: w.value.scalars.map { _ in 0 })
        let f = try #require(graph.parameters.first { $0.name == "F32" })
        f.value = Tensor(shape: f.shape, scalars: [0, .nan, 0])
        let diverged = #expect(throws: ONNXError.self) { try graph.exportedModel() }
        #expect(diverged?.description.contains("diverged") == true)
    }

    @Test func reservedAndConflictingMetadataKeysAreRefused() throws {
        let (url, _) = try protoFile("pytorch-converted/test_Conv2d")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: url))
        let reserved = #expect(throws: ONNXError.self) { try graph.exportedModel(metadata: ["rkd.version": "9"]) }
        #expect(reserved?.code == .invalidInput)
        let twice = #expect(throws: ONNXError.self) {
            try graph.exportedModel(metadata: ["teacher": "a", "rkd.teacher": "b"])
        }
        #expect(twice?.code == .invalidInput)
    }

    /// write(to:) replaces the file in one step and leaves no temporary file behind.
    @Test func writeReplacesTheFileAtomically() throws {
        let (url, _) = try protoFile("pytorch-converted/test_Conv2d")
        let graph = try ImportedGraph(try ONNXModel(contentsOf: url))
        let directory = try TemporaryDirectory()
        let target = directory.url.appendingPathComponent("model.hardened.onnx")
        try Data("old contents".utf8).write(to: target)
        ExportFixtures.perturb(graph.parameters)
        try graph.write(to: target, metadata: ["operation": "harden"])
        #expect(try Data(contentsOf: target) == (try graph.exportedModel(metadata: ["operation": "harden"])))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["model.hardened.onnx"])
        let missing = directory.url.appendingPathComponent("no/such/dir/model.onnx")
        let error = #expect(throws: ONNXError.self) { try graph.write(to: missing) }
        #expect(error?.code == .io)
    }

    /// The NN export's fixed form: opset 17, IR 8, producer rkd, input (batch,C,H,W), output
    /// logits (batch, classes), float32 raw_data initializers named after the NN parameters.
    @Test func nnExportHasTheDocumentedForm() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, width: 4, seed: 1)
        let bytes = try NNExport.exportedModel(net, metadata: ["run": "r1"])
        let verdict = try ONNXModel(serialized: bytes).check()
        #expect(verdict.status == .valid, "libonnx's checker: \(verdict.message)")
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        #expect(model.irVersion == 8 && model.producerName == "rkd")
        #expect(model.opsetImport.map { "\($0.domain):\($0.version)" } == [":17"])
        let input = try #require(model.graph.input.first)
        #expect(model.graph.input.count == 1 && input.name == "input")
        let inputDims = input.type.tensorType.shape.dim
        #expect(inputDims.first?.dimParam == "batch" && inputDims.dropFirst().map(\.dimValue) == [1, 28, 28])
        let output = try #require(model.graph.output.first)
        #expect(output.name == "logits")
        #expect(output.type.tensorType.shape.dim.map(\.dimParam) == ["batch", ""])
        #expect(output.type.tensorType.shape.dim.last?.dimValue == 10)
        #expect(
            Set(model.graph.initializer.map(\.name))
                == Set(net.parameters.map(\.name) + net.buffers.map(\.name))
        )
        for t in model.graph.initializer {
            #expect(t.dataType == 1 && t.floatData.isEmpty && t.rawData.count == 4 * t.dims.reduce(1, *))
        }
        let ops = model.graph.node.map(\.opType)
        #expect(ops.filter { $0 == "BatchNormalization" }.count == 1 + 9 * 2 + 2)
        #expect(ops.filter { $0 == "Add" }.count == 9)
        #expect(ops.suffix(3) == ["GlobalAveragePool", "Flatten", "Gemm"])
        #expect(model.metadataProps.map(\.key) == ["rkd.architecture", "rkd.operation", "rkd.run", "rkd.version"])

        let smallBytes = try NNExport.exportedModel(SmallCNN(seed: 2))
        #expect(try ONNXModel(serialized: smallBytes).check().status == .valid)
        let small = try Onnx_ModelProto(serializedBytes: smallBytes)
        #expect(
            small.graph.node.map(\.opType) == [
                "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm",
            ]
        )
        let gemm = try #require(small.graph.node.last)
        #expect(gemm.attribute.contains { $0.name == "transB" && $0.i == 1 })
    }

    @Test func unexportableLayersAndClassifiersAreNamed() throws {
        var rng = RandomGenerator(seed: 4)
        let net = Sequential([Flatten(), Doubling(), Linear(inFeatures: 16, outFeatures: 2, rng: &rng)])
        let layer = #expect(throws: ONNXError.self) { try NNExport.exportedModel(net, inputShape: [1, 4, 4]) }
        #expect(layer?.code == .unsupported)
        #expect(layer?.description.contains("'1'") == true && layer?.description.contains("Doubling") == true)

        let classifier = #expect(throws: ONNXError.self) { try NNExport.exportedModel(OpaqueClassifier()) }
        #expect(classifier?.code == .unsupported && classifier?.description.contains("OpaqueClassifier") == true)

        let misfit = #expect(throws: ONNXError.self) {
            try NNExport.exportedModel(Linear(inFeatures: 16, outFeatures: 2, rng: &rng), inputShape: [1, 4, 4])
        }
        #expect(misfit?.code == .invalidInput && misfit?.description.contains("Flatten") == true)
    }

    /// A bare layer exports with output `output`, and the reimport computes the layer.
    @Test func layerExportReimports() throws {
        var rng = RandomGenerator(seed: 6)
        let net = Sequential([
            Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, rng: &rng),
            BatchNorm2D(channels: 3), ReLU(), AvgPool2D(kernelSize: 2, padding: 1), Tap("features"),
            GlobalAvgPool2D(), Flatten(), Linear(inFeatures: 3, outFeatures: 4, bias: false, rng: &rng),
        ])
        let model = try NNExport.exportedModel(net, inputShape: [2, 9, 9])
        let graph = try ImportedGraph(try ONNXModel(serialized: model))
        #expect(graph.outputNames == ["output"])
        let x = Tensor.normal([2, 2, 9, 9], using: &rng)
        let y = try withoutGradients { try graph.run(["input": x]) }
        expectClose(y["output"], withoutGradients { net(x) }, "Sequential export, reimported vs NN")
    }
}
