import Foundation
import NN
import SwiftProtobuf
import TensorEngine

/// Writes networks built in NN as fresh ONNX models that onnxruntime (and rkd's importer) run.
///
/// The model has opset 17 and IR version 8, producer `rkd`, one input `input` of shape
/// (batch, C, H, W) with a symbolic batch dimension, and one output (`logits` for a classifier,
/// `output` for a bare layer) of shape (batch, …). Each parameter and batch-norm running statistic
/// becomes a float32 `raw_data` initializer under its dotted NN name (`stage1.block0.conv1.weight`,
/// `bn1.running_mean`), so importing the file gives parameters with the network's own names.
/// Batch norm is written in inference form (BatchNormalization with the running statistics), so the
/// model computes the network's evaluation-mode forward pass.
///
/// Exportable: ``ResNet20``, ``SmallCNN``, and any layer built from Conv2D, BatchNorm2D, ReLU,
/// MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, Linear (Gemm with transB = 1), Sequential,
/// BasicBlock (its shortcut and the residual Add) and Tap (nothing is written for a tap).
public enum NNExport {
    /// The default-domain opset of exported models.
    public static let opsetVersion = 17
    /// The ONNX IR version of exported models.
    public static let irVersion = 8

    /// The classifier's evaluation-mode logits as an ONNX model with output `logits` (batch, classes).
    ///
    /// Metadata: `rkd.version`, `rkd.operation` (`export`), `rkd.architecture` (the type name) and
    /// the caller's `metadata` (keys without the `rkd.` prefix get it).
    /// - Throws: `ONNXError` `.unsupported` naming the classifier type or the layer that cannot be
    ///   exported; `.invalidInput` for a reserved metadata key.
    public static func exportedModel(_ classifier: any Classifier, metadata: [String: String] = [:]) throws -> Data {
        try serialized(try modelProto(classifier, metadata: metadata))
    }

    /// A layer as an ONNX model with input `input` (batch, `inputShape`…) and output `output`.
    /// - Throws: `ONNXError` `.unsupported` naming a layer that cannot be exported, `.invalidInput`
    ///   when a layer does not fit the shape flowing into it.
    public static func exportedModel(
        _ layer: any Layer,
        inputShape: [Int],
        metadata: [String: String] = [:]
    ) throws -> Data {
        try serialized(try modelProto(layer, inputShape: inputShape, metadata: metadata))
    }

    /// Writes ``exportedModel(_:metadata:)`` to `url` atomically and durably (temporary file,
    /// `fsync`, rename, directory `fsync`).
    /// - Throws: `ONNXError` `.io` when writing fails, or an error of the export.
    public static func write(_ classifier: any Classifier, to url: URL, metadata: [String: String] = [:]) throws {
        try ONNXError.writeDurably(try exportedModel(classifier, metadata: metadata), to: url)
    }

    /// The model for a classifier.
    static func modelProto(_ classifier: any Classifier, metadata: [String: String]) throws -> Onnx_ModelProto {
        let architecture = String(describing: type(of: classifier))
        let layers = try topLevelLayers(of: classifier)
        return try modelProto(
            layers,
            inputShape: classifier.inputShape,
            outputName: "logits",
            expectedOutput: [classifier.classCount],
            graphName: architecture,
            metadata: metadata
        )
    }

    /// The model for a layer.
    static func modelProto(
        _ layer: any Layer,
        inputShape: [Int],
        metadata: [String: String]
    ) throws -> Onnx_ModelProto {
        let architecture = String(describing: type(of: layer))
        return try modelProto(
            [("", layer)],
            inputShape: inputShape,
            outputName: "output",
            expectedOutput: nil,
            graphName: architecture,
            metadata: metadata
        )
    }

    /// The classifier's forward pass as named layers applied in turn, the same computation as its
    /// `logits(_:context:)` in evaluation mode. Layers without state (ReLU, pooling) are made here.
    static func topLevelLayers(of classifier: any Classifier) throws -> [(String, any Layer)] {
        switch classifier {
        case let net as ResNet20:
            // relu(bn1(conv1(x))) → stage1…3 → global average pool → flatten → fc
            return [("conv1", net.conv1), ("bn1", net.bn1), ("relu", ReLU())]
                + net.stages.enumerated().map { ("stage\($0.offset + 1)", $0.element) }
                + [("pool", GlobalAvgPool2D()), ("flatten", Flatten()), ("fc", net.fc)]
        case let net as SmallCNN:
            // conv-relu-pool twice → flatten → fc1-relu → fc2, as in SmallCNN.logits
            return [
                ("conv1", net.conv1), ("relu1", ReLU()), ("pool1", MaxPool2D(kernelSize: 2)),
                ("conv2", net.conv2), ("relu2", ReLU()), ("pool2", MaxPool2D(kernelSize: 2)),
                ("flatten", Flatten()), ("fc1", net.fc1), ("relu3", ReLU()), ("fc2", net.fc2),
            ]
        default:
            throw ONNXError(
                .unsupported,
                "classifier type \(type(of: classifier)) cannot be exported to ONNX: rkd knows the layer "
                    + "structure of ResNet20 and SmallCNN only; export its layers with "
                    + "NNExport.exportedModel(_:inputShape:metadata:) instead"
            )
        }
    }

    private static func modelProto(
        _ layers: [(String, any Layer)],
        inputShape: [Int],
        outputName: String,
        expectedOutput: [Int]?,
        graphName: String,
        metadata: [String: String]
    ) throws -> Onnx_ModelProto {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ONNXError(.invalidInput, "input shape \(inputShape) must be non-empty and positive, e.g. [C, H, W]")
        }
        var builder = ONNXGraphBuilder(reserving: ["input", outputName])
        // Shapes are tracked with a batch of one; the batch dimension is symbolic in the model.
        var x = Edge(name: "input", shape: [1] + inputShape)
        for (name, layer) in layers {
            x = try emit(layer, x, path: name, into: &builder)
        }
        if let expectedOutput, Array(x.shape.dropFirst()) != expectedOutput {
            throw ONNXError(
                .invalidGraph,
                "\(graphName) exports to an output of shape \(x.shape.dropFirst()) per example, but the "
                    + "classifier has \(expectedOutput); the export does not match its forward pass"
            )
        }
        if builder.nodes.last?.output != [x.name] {
            // Only taps, so the output is the input: the graph still needs a node to produce it.
            x.name = builder.node("Identity", name: "identity", inputs: [x.name])
        }
        builder.renameLastOutput(x.name, to: outputName)

        var graph = Onnx_GraphProto()
        graph.name = graphName
        graph.node = builder.nodes
        graph.initializer = builder.initializers
        graph.input = [.floatTensor("input", batch: "batch", dims: inputShape)]
        graph.output = [.floatTensor(outputName, batch: "batch", dims: Array(x.shape.dropFirst()))]

        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(opsetVersion)
        var model = Onnx_ModelProto()
        model.irVersion = Int64(irVersion)
        model.opsetImport = [opset]
        model.producerName = "rkd"
        model.producerVersion = ExportMetadata.rkdVersion
        model.graph = graph
        let entries = try ExportMetadata.entries(
            defaults: [
                ExportMetadata.prefix + "operation": "export",
                ExportMetadata.prefix + "architecture": graphName,
            ],
            caller: metadata
        )
        model.metadataProps = ExportMetadata.merged([], with: entries)
        return model
    }

    private static func serialized(_ model: Onnx_ModelProto) throws -> Data {
        do {
            return try model.serializedBytes()
        } catch {
            throw ONNXError(.invalidGraph, "the exported model could not be serialised: \(error)")
        }
    }
}
