import Datasets
import Testing

/// Gzip files made by Python's gzip module and by the gzip command, read back with `Gzip`.
@Suite("gzip")
struct GzipTests {
    /// 600 000 bytes mixing a repetitive part and a pseudo-random part, so that the deflate stream
    /// has both long matches and literals and decompresses in several 256 KiB steps.
    static let original: [UInt8] = {
        var state: UInt32 = 12345
        return (0..<600_000).map { index in
            if index % 1000 < 500 { return UInt8(index % 7) }
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(state >> 24)
        }
    }()

    @Test func readsWhatPythonAndTheGzipCommandWrite() throws {
        let directory = try TemporaryDirectory()
        try directory.write(Self.original, to: "original")
        // Python's gzip module (a filename in the header, level 9) and the gzip command (level 6).
        try run(
            "python3",
            [
                "-c",
                "import gzip, sys; d = open(sys.argv[1], 'rb').read(); gzip.open(sys.argv[2], 'wb').write(d)",
                directory.path("original"), directory.path("python.gz"),
            ]
        )
        try run("gzip", ["-6", "-k", directory.path("original")])
        for name in ["python.gz", "original.gz"] {
            let path = directory.path(name)
            let fromFile = try Gzip.decompress(contentsOf: path, limit: 1 << 20)
            #expect(fromFile == Self.original, "\(name)")
            let fromMemory = try Gzip.decompress(try directory.read(name), limit: 1 << 20)
            #expect(fromMemory == Self.original, "\(name)")
            #expect(try Gzip.prefix(16, ofContentsOf: path) == Array(Self.original.prefix(16)))
        }
        // Exactly at the limit is allowed; one byte under it is not.
        #expect(try Gzip.decompress(try directory.read("original.gz"), limit: Self.original.count).count == 600_000)
        #expect(throws: DatasetError.self) {
            try Gzip.decompress(try directory.read("original.gz"), limit: Self.original.count - 1)
        }
    }

    /// `cat a.gz b.gz` is one gzip file holding both; `gzip -d` gives the concatenation.
    @Test func concatenatedMembers() throws {
        let directory = try TemporaryDirectory()
        let first = Array(Self.original.prefix(1000))
        let second = Array(Self.original.suffix(70_000))
        try directory.write(first, to: "a")
        try directory.write(second, to: "b")
        try run("gzip", [directory.path("a"), directory.path("b")])
        let joined = try directory.read("a.gz") + directory.read("b.gz")
        #expect(try Gzip.decompress(joined, limit: 1 << 20) == first + second)
        // A tiny prefix stops inside the first member.
        try directory.write(joined, to: "joined.gz")
        #expect(try Gzip.prefix(4, ofContentsOf: directory.path("joined.gz")) == Array(first.prefix(4)))
        // But anything else after a member is refused.
        let error = try #require(throws: DatasetError.self) {
            try Gzip.decompress(try directory.read("a.gz") + [0, 0, 0, 0], limit: 1 << 20)
        }
        #expect(error.code == .corrupt)
        #expect(error.message.contains("not another gzip member"))
    }

    /// 256 MiB of zeros compresses to about 255 KB (1000:1); with a 4 MiB limit the reader refuses it after
    /// decompressing at most 4 MiB + 256 KiB.
    @Test func gzipBombIsRefused() throws {
        let directory = try TemporaryDirectory()
        try run(
            "python3",
            [
                "-c",
                """
                import gzip, sys
                block = bytes(1 << 20)
                with gzip.open(sys.argv[1], 'wb', compresslevel=9) as f:
                    for _ in range(256):
                        f.write(block)
                """,
                directory.path("bomb.gz"),
            ]
        )
        let compressed = try directory.read("bomb.gz")
        #expect(compressed.count < 512 << 10)
        let fromFile = try #require(throws: DatasetError.self) {
            try Gzip.decompress(contentsOf: directory.path("bomb.gz"), limit: 4 << 20)
        }
        let fromMemory = try #require(throws: DatasetError.self) { try Gzip.decompress(compressed, limit: 4 << 20) }
        for error in [fromFile, fromMemory] {
            #expect(error.code == .tooLarge)
            #expect(error.message.contains("more than the limit of 4194304 bytes"))
        }
    }

    @Test func corruptAndTruncatedData() throws {
        let directory = try TemporaryDirectory()
        try directory.write(Self.original, to: "data")
        try run("gzip", [directory.path("data")])
        let good = try directory.read("data.gz")

        func failure(_ bytes: [UInt8]) throws -> DatasetError {
            try #require(throws: DatasetError.self) { try Gzip.decompress(bytes, limit: 1 << 20) }
        }
        // Cut in the middle, or just before the 8-byte trailer (CRC-32 and size): incomplete.
        for cut in [good.count / 2, good.count - 4, 10] {
            let error = try failure(Array(good.prefix(cut)))
            #expect(error.code == .truncated, "cut at \(cut)")
            #expect(error.message.contains("incomplete"))
        }
        #expect(try failure([]).code == .truncated)
        // A wrong CRC-32 in the trailer.
        var badCRC = good
        badCRC[good.count - 8] ^= 0xff
        let crcError = try failure(badCRC)
        #expect(crcError.code == .corrupt)
        #expect(crcError.message.contains("incorrect data check"))
        // Damage inside the deflate data (the header is 10 bytes plus the file name "data\0").
        var damaged = good
        for index in stride(from: 100, to: 400, by: 3) { damaged[index] ^= 0x5a }
        #expect(try failure(damaged).code == .corrupt)
        // Not gzip at all: a zip file's magic.
        let notGzip = try failure([0x50, 0x4b, 0x03, 0x04] + good.dropFirst(4))
        #expect(notGzip.code == .corrupt)
        #expect(notGzip.message.contains("not gzip data: it starts with 0x50 0x4b"))
        // A file that does not exist.
        let missing = try #require(throws: DatasetError.self) {
            try Gzip.decompress(contentsOf: directory.path("nothing.gz"), limit: 1 << 20)
        }
        #expect(missing.code == .missingFile)
        #expect(missing.path == directory.path("nothing.gz"))
    }
}
