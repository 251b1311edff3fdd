/// The `metadata_props` entries an exported model carries about what rkd did to it.
///
/// Every key rkd writes starts with `rkd.`. Exporting replaces all `rkd.` entries a model already
/// has (from an earlier rkd run) and keeps every other entry, in its order.
enum ExportMetadata {
    /// The prefix of rkd's keys.
    static let prefix = "rkd."
    /// The version recorded under `rkd.version` and as the producer version of fresh models.
    static let rkdVersion = "0.1.0-dev"

    /// The rkd entries: `defaults` (rkd's own, keys with the prefix) overridden by `caller`, whose
    /// keys get the prefix when they lack it, plus `rkd.version`.
    /// - Throws: `ONNXError` `.invalidInput` for an empty key, for `rkd.version` (rkd sets it), or
    ///   for two caller keys that name the same entry (`x` and `rkd.x`).
    static func entries(defaults: [String: String], caller: [String: String]) throws -> [String: String] {
        var result = defaults
        var fromCaller: [String: String] = [:]
        for (key, value) in caller {
            guard !key.isEmpty, key != prefix else {
                throw ONNXError(.invalidInput, "metadata key '\(key)' is empty; use keys such as rkd.operation")
            }
            let full = key.hasPrefix(prefix) ? key : prefix + key
            guard full != prefix + "version" else {
                throw ONNXError(.invalidInput, "metadata key '\(key)' is reserved: rkd records its own version")
            }
            if let other = fromCaller[full] {
                throw ONNXError(
                    .invalidInput,
                    "metadata keys '\(key)' and '\(other)' both name \(full); pass one of them"
                )
            }
            fromCaller[full] = key
            result[full] = value
        }
        result[prefix + "version"] = rkdVersion
        return result
    }

    /// `existing` without its `rkd.` entries, followed by `entries` sorted by key.
    static func merged(
        _ existing: [Onnx_StringStringEntryProto],
        with entries: [String: String]
    ) -> [Onnx_StringStringEntryProto] {
        var result = existing.filter { !$0.key.hasPrefix(prefix) }
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            result.append(entry)
        }
        return result
    }
}
