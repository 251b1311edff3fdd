import Foundation
import SwiftProtobuf
import TensorEngine

/// A parsed ONNX model, checked against the import limits before anything large is allocated.
public struct ONNXModel: @unchecked Sendable {
    private(set) var proto: Onnx_ModelProto
    /// The default-domain opset the model was exported with.
    public let opsetVersion: Int
    /// The limits it was read with; the importer applies them again to computed values.
    public let limits: ImportLimits

    /// How untrusted protobuf is decoded: nesting capped well below what would exhaust the stack
    /// (swift-protobuf's own default is 100), unknown fields dropped rather than kept in memory.
    static let decodingOptions: BinaryDecodingOptions = {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        options.discardUnknownFields = true
        return options
    }()

    /// Parses a serialized ModelProto and checks it against `limits` (see ``ImportLimits``).
    /// The node and message counts are checked on the raw bytes before decoding (``ModelWireScan``),
    /// the rest of the structure right after.
    /// - Throws: `ONNXError` `.limitExceeded` for oversize input or a model over a structural limit,
    ///   `.malformed` for bytes that are not a ModelProto (including nesting deeper than 64
    ///   messages), `.invalidGraph` when it has no graph or a tensor declares a negative dimension.
    public init(serialized data: Data, limits: ImportLimits = .default) throws {
        guard data.count <= limits.maximumFileBytes else {
            throw ONNXError(
                .limitExceeded,
                "the model is \(data.count) bytes, over the limit of "
                    + "\(limits.maximumFileBytes); raise ImportLimits.maximumFileBytes if it is genuine"
            )
        }
        guard !data.isEmpty else {
            throw ONNXError(.malformed, "the file is empty; an ONNX model is a serialized ModelProto")
        }
        try ModelWireScan.check(data, limits: limits)
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: data, options: ONNXModel.decodingOptions)
        } catch {
            throw ONNXError(.malformed, ONNXModel.describe(error, decoding: "an ONNX model"))
        }
        guard proto.hasGraph else {
            throw ONNXError(
                .invalidGraph,
                "the file holds no graph: it is not an ONNX model (perhaps another protobuf message, such as "
                    + "a TensorProto), or the model was exported without its graph; re-export it"
            )
        }
        try ONNXModel.checkStructure(proto, limits: limits)
        try ONNXModel.validateStrictly(proto)
        let defaultOpset = proto.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        self.proto = proto
        self.opsetVersion = Int(defaultOpset?.version ?? 1)
        self.limits = limits
    }

    /// Says what a protobuf decoding failure means for a file that should hold `what`.
    static func describe(_ error: any Error, decoding what: String) -> String {
        switch error as? BinaryDecodingError {
        case .truncated?:
            return "the bytes end in the middle of a field, so they are not \(what); is the file truncated?"
        case .messageDepthLimit?:
            return "the bytes nest protobuf messages more than \(decodingOptions.messageDepthLimit) deep, "
                + "which no genuine model file does; the file is corrupt or hostile"
        case .invalidUTF8?:
            return "a string field is not valid UTF-8, so the bytes are not \(what); is the file corrupt?"
        default:
            return "the bytes are not \(what) (\(error)); is the file truncated, or not an .onnx file?"
        }
    }

    /// Reads and parses a model file.
    public init(contentsOf url: URL, limits: ImportLimits = .default) throws {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes?[.size] as? Int, size > limits.maximumFileBytes {
            throw ONNXError(
                .limitExceeded,
                "\(url.path) is \(size) bytes, over the limit of \(limits.maximumFileBytes)"
            )
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ONNXError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(serialized: data, limits: limits)
        // Initializers kept in files beside the model are read now and held inline, so import,
        // summary and export see ordinary tensors (an exported model carries them inline).
        var budget = limits.maximumFileBytes - data.count
        let directory = url.deletingLastPathComponent()
        for index in proto.graph.initializer.indices where proto.graph.initializer[index].dataLocation == .external {
            proto.graph.initializer[index] = try ExternalData.resolve(
                proto.graph.initializer[index],
                directory: directory,
                limits: limits,
                budget: &budget
            )
        }
    }

    /// The graph's declared input names that are not initializers (what a caller feeds).
    public var inputNames: [String] {
        let initialized = Set(proto.graph.initializer.map(\.name))
        return proto.graph.input.map(\.name).filter { !initialized.contains($0) }
    }

    /// The graph's output names.
    public var outputNames: [String] { proto.graph.output.map(\.name) }

    /// The initializers' names, in file order.
    public var initializerNames: [String] { proto.graph.initializer.map(\.name) }

    /// The number of nodes of the main graph.
    public var nodeCount: Int { proto.graph.node.count }

    /// The model's `metadata_props`, by key (the last value of a repeated key).
    public var metadata: [String: String] {
        Dictionary(proto.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// Operator types and how often each occurs, in first-seen order.
    public var operatorCounts: [(op: String, count: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for node in proto.graph.node {
            if counts[node.opType] == nil { order.append(node.opType) }
            counts[node.opType, default: 0] += 1
        }
        return order.map { ($0, counts[$0] ?? 0) }
    }
}

/// Decodes one serialized TensorProto (as in ONNX's test data sets) into float or integer data.
public enum ONNXTensorFile {
    /// Float data as a tensor; integer data converted to floats. Returns the value and whether it was integer.
    public static func decode(_ data: Data, limits: ImportLimits = .default) throws -> (tensor: Tensor, isInteger: Bool)
    {
        guard data.count <= limits.maximumFileBytes else {
            throw ONNXError(
                .limitExceeded,
                "the tensor file is \(data.count) bytes, over the limit of \(limits.maximumFileBytes)"
            )
        }
        let proto: Onnx_TensorProto
        do {
            proto = try Onnx_TensorProto(serializedBytes: data, options: ONNXModel.decodingOptions)
        } catch {
            throw ONNXError(.malformed, ONNXModel.describe(error, decoding: "a serialized TensorProto"))
        }
        let value = try TensorDecoding.decode(proto, limits: limits)
        return (value.asTensor, value.isInt)
    }
}
