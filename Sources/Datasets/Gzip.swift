/// Reading gzip files (RFC 1952), such as the .gz files of MNIST and Fashion-MNIST, with zlib.
///
/// Every function takes a limit on the decompressed size and refuses, with `.tooLarge`, data that
/// would decompress to more, before it has used more than the limit plus 256 KiB of memory. Damaged
/// data fails with `.corrupt` (bad magic, bad CRC-32, invalid deflate data) and incomplete data with
/// `.truncated`.
public enum Gzip {
    /// Decompresses gzip data held in memory.
    public static func decompress(_ compressed: [UInt8], limit: Int) throws(DatasetError) -> [UInt8] {
        let inflater = try GzipInflater(limit: limit, path: nil, expectedSize: storedSize(of: compressed))
        try compressed.withUnsafeBufferPointer { buffer throws(DatasetError) in try inflater.consume(buffer) }
        return try inflater.finish()
    }

    /// Decompresses the gzip file at `path`, streaming it from disk in 1 MiB chunks.
    public static func decompress(contentsOf path: String, limit: Int) throws(DatasetError) -> [UInt8] {
        let file = try InputFile(path: path)
        let inflater = try GzipInflater(limit: limit, path: path, expectedSize: try storedSize(of: file))
        try file.forEachChunk { chunk throws(DatasetError) in
            try inflater.consume(chunk)
            return true
        }
        return try inflater.finish()
    }

    /// The first `count` decompressed bytes of the gzip file at `path` (fewer when it holds fewer),
    /// reading no more of the file than needed: for reading a header without the data after it.
    public static func prefix(_ count: Int, ofContentsOf path: String) throws(DatasetError) -> [UInt8] {
        let file = try InputFile(path: path)
        // The limit lets the last step finish; the output is cut to `count` below.
        let inflater = try GzipInflater(limit: count + (1 << 20), path: path)
        inflater.stopAfter = count
        try file.forEachChunk(size: 1 << 12) { chunk throws(DatasetError) in
            try inflater.consume(chunk)
            return !inflater.hasEnoughOutput
        }
        let output = inflater.hasEnoughOutput ? inflater.output : try inflater.finish()
        return Array(output.prefix(count))
    }

    /// A gzip member's last four bytes hold its decompressed size modulo 2³² (ISIZE); used only to
    /// reserve memory, never trusted.
    private static func storedSize(of compressed: [UInt8]) -> Int? {
        guard compressed.count >= 18 else { return nil }
        return compressed.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    private static func storedSize(of file: InputFile) throws(DatasetError) -> Int? {
        let size = try file.size()
        guard size >= 18 else { return nil }
        return try file.bytes(at: size - 4, count: 4).reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
