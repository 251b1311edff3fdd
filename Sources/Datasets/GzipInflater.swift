import CZlib

/// A streaming gzip (RFC 1952) decompressor over zlib's inflate: feed it compressed chunks in order,
/// then `finish()`. It refuses to produce more than `limit` bytes, checking after every step of at most
/// `stepBytes`, so a gzip bomb costs at most `limit + stepBytes` bytes of memory before it is refused.
/// Several gzip members one after another (as `cat a.gz b.gz` makes) decompress to their concatenation.
final class GzipInflater {
    /// The decompressed bytes so far.
    private(set) var output: [UInt8] = []
    /// The most bytes `output` may reach.
    let limit: Int
    /// The file being decompressed, if it is one.
    let path: String?
    /// Stop decompressing once `output` holds this many bytes (for reading only a header); nil: never.
    var stopAfter: Int?

    private let stream: UnsafeMutablePointer<z_stream>
    private let step: UnsafeMutablePointer<UInt8>
    private static let stepBytes = 1 << 18
    /// True between a member's end and the next member's first byte.
    private var betweenMembers = false
    /// How many members have ended.
    private var membersEnded = 0
    /// How many compressed bytes were fed, and the first two of them (the gzip magic).
    private var bytesFed = 0
    private var firstBytes: [UInt8] = []

    /// Starts a decompressor.
    /// - Parameter expectedSize: the decompressed size if known (a hint: memory is reserved for it up to `limit`).
    init(limit: Int, path: String?, expectedSize: Int? = nil) throws(DatasetError) {
        self.limit = limit
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        step = .allocate(capacity: Self.stepBytes)
        // zlib keeps a pointer to the z_stream in its state and checks it on every call, so the
        // stream lives at a fixed heap address, not in a Swift variable that may move.
        let status = rkd_inflate_init_gzip(stream)
        guard status == Z_OK else {
            throw DatasetError(.io, "cannot start zlib's inflate for \(source): \(Self.describe(status))")
        }
        if let expectedSize, expectedSize > 0 { output.reserveCapacity(min(expectedSize, limit)) }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        step.deallocate()
    }

    /// Decompresses the next chunk of compressed input.
    func consume(_ chunk: UnsafeBufferPointer<UInt8>) throws(DatasetError) {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        for byte in chunk.prefix(2 - firstBytes.count) { firstBytes.append(byte) }
        if firstBytes.count >= 1, firstBytes[0] != 0x1f || (firstBytes.count == 2 && firstBytes[1] != 0x8b) {
            let shown = firstBytes.map { "0x" + String($0, radix: 16) }.joined(separator: " ")
            throw DatasetError(
                .corrupt,
                "\(source) is not gzip data: it starts with \(shown), not the gzip magic 0x1f 0x8b",
                path: path
            )
        }
        bytesFed += chunk.count
        var offset = 0
        while offset < chunk.count {
            // avail_in is 32 bits wide.
            let piece = min(chunk.count - offset, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base + offset)
            stream.pointee.avail_in = uInt(piece)
            try inflateAvailableInput()
            if hasEnoughOutput { return }
            offset += piece
        }
    }

    /// Ends the input; returns the decompressed bytes.
    /// - Throws: `.truncated` when the input ended inside a member (or was empty).
    func finish() throws(DatasetError) -> [UInt8] {
        guard membersEnded > 0, betweenMembers else {
            let detail =
                bytesFed == 0
                ? "is empty" : "ends after \(bytesFed) compressed bytes, in the middle of the gzip stream"
            throw DatasetError(
                .truncated,
                "\(source) \(detail) (\(output.count) bytes decompressed); the file is incomplete: download or "
                    + "install it again",
                path: path
            )
        }
        return output
    }

    /// Runs inflate until it has consumed all of `avail_in` and has no output pending.
    private func inflateAvailableInput() throws(DatasetError) {
        while true {
            if betweenMembers {
                guard stream.pointee.avail_in > 0 else { return }
                // After a member only another member may follow.
                guard stream.pointee.next_in.pointee == 0x1f else {
                    throw DatasetError(
                        .corrupt,
                        "\(source) has \(stream.pointee.avail_in) or more bytes after the end of its gzip stream "
                            + "that are not another gzip member",
                        path: path
                    )
                }
                inflateReset(stream)
                betweenMembers = false
            }
            stream.pointee.next_out = step
            stream.pointee.avail_out = uInt(Self.stepBytes)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = Self.stepBytes - Int(stream.pointee.avail_out)
            if produced > 0 {
                guard output.count + produced <= limit else {
                    throw DatasetError(
                        .tooLarge,
                        "\(source) decompresses to more than the limit of \(limit) bytes "
                            + "(DatasetLimits.maximumFileBytes); refused before reading further",
                        path: path
                    )
                }
                output.append(contentsOf: UnsafeBufferPointer(start: step, count: produced))
                if hasEnoughOutput { return }
            }
            switch status {
            case Z_OK:
                // More output may be pending when the step buffer filled up.
                if stream.pointee.avail_in == 0 && produced < Self.stepBytes { return }
            case Z_STREAM_END:
                membersEnded += 1
                betweenMembers = true
            case Z_BUF_ERROR:
                // No progress was possible: all input is consumed and inflate needs more.
                return
            case Z_MEM_ERROR:
                throw DatasetError(.io, "zlib ran out of memory decompressing \(source)", path: path)
            default:
                throw DatasetError(
                    .corrupt,
                    "\(source) is corrupt: zlib says \(message(for: status)) after \(output.count) "
                        + "decompressed bytes; the file is damaged: download or install it again",
                    path: path
                )
            }
        }
    }

    /// Whether `output` has reached `stopAfter`.
    var hasEnoughOutput: Bool {
        guard let stopAfter else { return false }
        return output.count >= stopAfter
    }

    /// What is being decompressed, for error messages.
    private var source: String { path ?? "the data" }

    private func message(for status: Int32) -> String {
        if let text = stream.pointee.msg { return "\"\(String(cString: text))\"" }
        return Self.describe(status)
    }

    private static func describe(_ status: Int32) -> String {
        switch status {
        case Z_DATA_ERROR: "invalid compressed data (Z_DATA_ERROR)"
        case Z_MEM_ERROR: "out of memory (Z_MEM_ERROR)"
        case Z_NEED_DICT: "a preset dictionary is needed (Z_NEED_DICT)"
        case Z_STREAM_ERROR: "inconsistent stream state (Z_STREAM_ERROR)"
        case Z_VERSION_ERROR: "incompatible zlib version (Z_VERSION_ERROR)"
        default: "status \(status)"
        }
    }
}
