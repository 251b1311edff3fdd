import Foundation
import SwiftProtobuf
import TensorEngine

/// A parsed ONNX model, checked against the import limits before anything large is allocated.
public struct ONNXModel: @unchecked Sendable {
    let proto: Onnx_ModelProto
    /// The default-domain opset the model was exported with.
    public let opsetVersion: Int
    /// The limits it was read with; the importer applies them again to computed values.
    public let limits: ImportLimits

    /// Parses a serialized ModelProto.
    /// - Throws: `ONNXError` `.limitExceeded` for oversize input, `.malformed` for bytes that are not
    ///   a ModelProto, `.invalidGraph` when it has no graph.
    public init(serialized data: Data, limits: ImportLimits = .default) throws {
        guard data.count <= limits.maximumFileBytes else {
            throw ONNXError(
                .limitExceeded,
                "the model is \(data.count) bytes, over the limit of "
                    + "\(limits.maximumFileBytes); raise ImportLimits.maximumFileBytes if it is genuine"
            )
        }
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw ONNXError(
                .malformed,
                "the bytes are not a valid ONNX model (\(error)); is the file truncated, "
                    + "or not an .onnx file?"
            )
        }
        guard proto.hasGraph else {
            throw ONNXError(.invalidGraph, "the model has no graph; re-export it")
        }
        guard proto.graph.node.count <= limits.maximumNodes else {
            throw ONNXError(
                .limitExceeded,
                "the graph has \(proto.graph.node.count) nodes, over the limit of "
                    + "\(limits.maximumNodes)"
            )
        }
        let defaultOpset = proto.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        self.proto = proto
        self.opsetVersion = Int(defaultOpset?.version ?? 1)
        self.limits = limits
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
    }

    /// The graph's declared input names that are not initializers (what a caller feeds).
    public var inputNames: [String] {
        let initialized = Set(proto.graph.initializer.map(\.name))
        return proto.graph.input.map(\.name).filter { !initialized.contains($0) }
    }

    /// The graph's output names.
    public var outputNames: [String] { proto.graph.output.map(\.name) }

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
        let proto: Onnx_TensorProto
        do {
            proto = try Onnx_TensorProto(serializedBytes: data)
        } catch {
            throw ONNXError(.malformed, "not a TensorProto: \(error)")
        }
        let value = try TensorDecoding.decode(proto, limits: limits)
        return (value.asTensor, value.isInt)
    }
}
