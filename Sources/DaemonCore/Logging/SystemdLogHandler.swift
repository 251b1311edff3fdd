import CSystemd
import Foundation
import Logging

/// A swift-log handler for a systemd service.
///
/// When stderr is connected to the journal (`JOURNAL_STREAM` names stderr's device and inode,
/// systemd.exec(5)) each entry goes to the journal natively with structured fields: `PRIORITY`,
/// `SYSLOG_IDENTIFIER`, `MESSAGE`, and one field per metadata key (`job.id` → `JOB_ID`,
/// `model.digest` → `MODEL_DIGEST`), so `journalctl JOB_ID=…` finds a job's lines. Otherwise it
/// writes one line per entry to stderr, prefixed with the sd-daemon(3) priority (`<6>` for info),
/// which journald also understands, followed by the metadata as `key=value`.
public struct SystemdLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let identifier: String
    let label: String
    let useJournal: Bool

    /// - Parameters:
    ///   - identifier: `SYSLOG_IDENTIFIER`, e.g. `rkdd`.
    ///   - useJournal: force the destination; by default, the journal exactly when stderr is it.
    public init(label: String, identifier: String, useJournal: Bool? = nil) {
        self.label = label
        self.identifier = identifier
        self.useJournal = useJournal ?? SystemdLogHandler.stderrIsJournal()
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if useJournal {
            let fields = Self.journalFields(
                level: event.level,
                message: event.message.description,
                metadata: merged,
                identifier: identifier
            )
            if Self.sendToJournal(fields) { return }
        }
        let line = Self.stderrLine(level: event.level, message: event.message.description, metadata: merged)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The syslog priority of a level (sd-daemon(3)): 7 debug … 2 critical.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name for a metadata key: upper case letters, digits and underscores, not
    /// starting with an underscore or a digit (sd_journal_print(3)); `job.id` → `JOB_ID`.
    static func fieldName(_ key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                (("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)) ? Character(scalar) : "_"
            }
        )
        while name.first == "_" { name.removeFirst() }
        if name.first.map({ $0.isNumber }) ?? true { name = "RKD_" + name }
        return String(name.prefix(64))
    }

    /// The journal entry's fields, `NAME=value`, in a fixed order.
    static func journalFields(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        identifier: String
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)", "PRIORITY=\(priority(level))", "SYSLOG_IDENTIFIER=\(identifier)",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append("\(fieldName(key))=\(value)")
        }
        return fields
    }

    /// The stderr form: `<6>message key=value …`, on one line: newlines in the message and in metadata
    /// values become spaces (journald would log the rest of a broken line as a separate entry, at info).
    static func stderrLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        func oneLine(_ text: String) -> String { text.split(whereSeparator: \.isNewline).joined(separator: " ") }
        var line = "<\(priority(level))>" + oneLine(message)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(oneLine(key))=\(oneLine("\(value)"))"
        }
        return line
    }

    /// Sends one entry with sd_journal_sendv (sd_journal_send is C-variadic).
    static func sendToJournal(_ fields: [String]) -> Bool {
        let encoded = fields.map { Array($0.utf8) }
        let total = encoded.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        var vectors: [iovec] = []
        vectors.reserveCapacity(encoded.count)
        var offset = 0
        for field in encoded {
            let start = storage.baseAddress.map { $0 + offset }
            UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + field.count)]).copyBytes(from: field)
            vectors.append(iovec(iov_base: start, iov_len: field.count))
            offset += field.count
        }
        return sd_journal_sendv(vectors, Int32(vectors.count)) == 0
    }

    /// Whether stderr is the journal stream systemd set up (`JOURNAL_STREAM=device:inode`).
    static func stderrIsJournal() -> Bool {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
