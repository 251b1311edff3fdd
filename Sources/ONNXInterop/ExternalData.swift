import Foundation

/// Reads tensor data that a model keeps in files beside it (ONNX "external data", which exporters
/// use for models over 2 GB, and some for every weight).
///
/// Only plain relative paths that stay inside the model's directory are followed (no absolute
/// paths, no `..`, no symlinks leading out); the byte range must lie inside the file and match the
/// tensor's declared size; and all external data of one model together must fit in
/// `ImportLimits.maximumFileBytes`.
enum ExternalData {
    /// `tensor` with its external bytes read into `raw_data`.
    /// - Parameters:
    ///   - directory: the model file's directory; `nil` for a model parsed from memory.
    ///   - budget: bytes still allowed for this model's external data; reduced by what is read.
    static func resolve(
        _ tensor: Onnx_TensorProto,
        directory: URL?,
        limits: ImportLimits,
        budget: inout Int
    ) throws -> Onnx_TensorProto {
        let name = tensor.name
        guard let directory else {
            throw ONNXError(
                .unsupported,
                "tensor '\(name)' keeps its data in an external file; load the model with "
                    + "ONNXModel(contentsOf:) so the files beside it can be read"
            )
        }
        var entries: [String: String] = [:]
        for entry in tensor.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"], !location.isEmpty else {
            throw ONNXError(.invalidGraph, "tensor '\(name)' is external but names no location")
        }
        let components = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !location.contains("\\"), !location.contains("\0"),
            components.allSatisfy({ !$0.isEmpty && $0 != ".." && $0 != "." })
        else {
            throw ONNXError(
                .invalidGraph,
                "tensor '\(name)': external data location '\(location)' is not a plain relative path "
                    + "inside the model's directory; rkd reads external data only from files beside the model"
            )
        }
        let root = directory.standardizedFileURL.resolvingSymlinksInPath().path
        let file = directory.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw ONNXError(
                .invalidGraph,
                "tensor '\(name)': external data '\(location)' leads outside the model's directory"
            )
        }
        func integer(_ key: String) throws -> Int? {
            guard let text = entries[key] else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw ONNXError(.invalidGraph, "tensor '\(name)': external data \(key) '\(text)' is not a size")
            }
            return value
        }
        let offset = try integer("offset") ?? 0
        let declaredLength = try integer("length")

        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        } catch {
            throw ONNXError(
                .io,
                "tensor '\(name)': cannot read external data file '\(location)' beside the model: "
                    + "\(error.localizedDescription); copy it next to the .onnx file"
            )
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? Int else {
            throw ONNXError(.invalidGraph, "tensor '\(name)': external data '\(location)' is not a regular file")
        }
        guard offset <= size else {
            throw ONNXError(
                .invalidGraph,
                "tensor '\(name)': external data offset \(offset) is past the end of '\(location)' (\(size) bytes)"
            )
        }
        let length = declaredLength ?? (size - offset)
        guard length <= size - offset else {
            throw ONNXError(
                .invalidGraph,
                "tensor '\(name)': external data range \(offset)+\(length) runs past the end of "
                    + "'\(location)' (\(size) bytes); the file is truncated or belongs to another model"
            )
        }
        guard length <= budget else {
            throw ONNXError(
                .limitExceeded,
                "tensor '\(name)': external data of the model exceeds the limit of \(limits.maximumFileBytes) "
                    + "bytes; raise ImportLimits.maximumFileBytes if it is genuine"
            )
        }
        budget -= length
        let bytes: Data
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            bytes = try handle.read(upToCount: length) ?? Data()
        } catch {
            throw ONNXError(.io, "tensor '\(name)': reading '\(location)' failed: \(error.localizedDescription)")
        }
        guard bytes.count == length else {
            throw ONNXError(.io, "tensor '\(name)': '\(location)' gave \(bytes.count) of \(length) bytes")
        }
        var resolved = tensor
        resolved.rawData = bytes
        resolved.externalData = []
        resolved.dataLocation = .default
        return resolved
    }
}
