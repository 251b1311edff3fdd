import Foundation
import NN
import SwiftProtobuf
import TensorEngine

extension ImportedGraph {
    /// The user's model with the trained weights: the ModelProto it was imported from, with every
    /// float initializer whose ``parameters`` or ``buffers`` entry (weights, batch-norm running
    /// statistics) now holds a different value rewritten in place, and `metadata_props` recording
    /// what rkd did.
    ///
    /// A rewritten initializer keeps its name, shape, data type and storage: float16, bfloat16 and
    /// double data are rounded to that type, `raw_data` stays little-endian `raw_data`, data in a
    /// typed field stays in that field. Initializers whose parameter is unchanged are not touched,
    /// so a model that was not trained comes back with its own bytes for every tensor. The graph,
    /// node order, opsets, doc strings, value_info and unknown fields are kept as they were.
    ///
    /// Metadata: existing `rkd.` entries are dropped, every other entry is kept, and the model gets
    /// `rkd.version`, `rkd.operation` (default `export`), `rkd.replaced_initializers` (how many were
    /// rewritten) and the caller's `metadata`; a caller key without the `rkd.` prefix gets it.
    /// - Throws: `ONNXError`: `.invalidInput` for a reserved or conflicting metadata key or for a
    ///   trained value the initializer's data type cannot hold (out of float16's range, NaN).
    public func exportedModel(metadata: [String: String] = [:]) throws -> Data {
        var proto = model.proto
        var current: [String: Tensor] = [:]
        for b in buffers where current[b.name] == nil { current[b.name] = b.value }
        for p in parameters where current[p.name] == nil { current[p.name] = p.value }
        var replaced = 0
        for index in proto.graph.initializer.indices {
            let original = proto.graph.initializer[index]
            guard let now = current[original.name],
                case .float(let before) = try TensorDecoding.decode(original, limits: model.limits)
            else { continue }
            guard !Self.sameBits(now.scalars, before.scalars) else { continue }
            proto.graph.initializer[index] = try TensorEncoding.replacingData(of: original, with: now, previous: before)
            replaced += 1
        }
        let entries = try ExportMetadata.entries(
            defaults: [
                ExportMetadata.prefix + "operation": "export",
                ExportMetadata.prefix + "replaced_initializers": String(replaced),
            ],
            caller: metadata
        )
        proto.metadataProps = ExportMetadata.merged(proto.metadataProps, with: entries)
        do {
            return try proto.serializedBytes()
        } catch {
            throw ONNXError(.invalidGraph, "the exported model could not be serialised: \(error)")
        }
    }

    /// Writes ``exportedModel(metadata:)`` to `url` atomically and durably: a temporary file in the
    /// same directory is written and `fsync`ed, renamed over `url`, and the directory `fsync`ed. A
    /// crash leaves either the previous file or the new one.
    /// - Throws: `ONNXError`: `.io` when writing fails, or an error of ``exportedModel(metadata:)``.
    public func write(to url: URL, metadata: [String: String] = [:]) throws {
        try ONNXError.writeDurably(try exportedModel(metadata: metadata), to: url)
    }

    /// Whether the two arrays hold the same bit patterns (so −0 differs from 0, and NaN equals itself).
    static func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}

extension ONNXError {
    /// Writes a model file through NN's `DurableFile` (temporary file, `fsync`, rename, directory
    /// `fsync`); a failure becomes `.io` with the step that failed.
    static func writeDurably(_ data: Data, to url: URL) throws {
        do {
            try DurableFile.write(data, to: url)
        } catch {
            throw ONNXError(.io, error.description)
        }
    }
}
