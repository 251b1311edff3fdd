import Datasets
import Testing

/// IDX files written byte by byte from the format's description.
@Suite("IDX files")
struct IDXTests {
    @Test func parsesImagesAndLabels() throws {
        let pixels = (0..<24).map { UInt8($0 * 10) }
        let images = try IDXArray(parsing: idxBytes(shape: [2, 3, 4], data: pixels))
        #expect(images.shape == [2, 3, 4])
        #expect(images.elements == pixels)
        // Sizes above 255 use all four big-endian bytes: 0x00000103 = 259.
        let labels = try IDXArray(parsing: [0, 0, 8, 1, 0, 0, 1, 3] + [UInt8](repeating: 7, count: 259))
        #expect(labels.shape == [259])
        #expect(labels.elements.allSatisfy { $0 == 7 })
        // An empty array is well-formed.
        #expect(try IDXArray(parsing: idxBytes(shape: [0, 28, 28], data: [])).shape == [0, 28, 28])
    }

    @Test(
        arguments: [
            // (bytes, code, words the message must contain)
            ([1, 0, 8, 1, 0, 0, 0, 1, 5], "corrupt", "does not start with two zero bytes"),
            ([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], "unsupported", "float32"),
            ([0, 0, 0x09, 1, 0, 0, 0, 1, 5], "unsupported", "signed bytes"),
            ([0, 0, 0x07, 1, 0, 0, 0, 1, 5], "corrupt", "not an IDX type"),
            ([0, 0, 8, 0], "corrupt", "rank 0"),
            ([0, 0, 8, 5] + [UInt8](repeating: 0, count: 20), "tooLarge", "rank 5"),
            ([0, 0, 8], "truncated", "less than the 4-byte IDX magic number"),
            ([0, 0, 8, 3, 0, 0, 0, 2, 0, 0], "truncated", "ends inside the 3 dimension sizes"),
            // Header says 2×2×2 = 8 bytes; 7 follow.
            ([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7], "truncated", "but only 7 follow"),
            // Header says 3 labels; 4 follow.
            ([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3, 4], "corrupt", "1 bytes after the 3 bytes of data"),
            // 2³²−1 × 2³²−1 × 2³²−1 overflows: refused before any allocation.
            ([0, 0, 8, 3] + [UInt8](repeating: 0xff, count: 12), "tooLarge", "more than the limit"),
            // 60000 × 28 × 28 is fine for the limits, but the data is missing.
            ([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28], "truncated", "47040000 bytes of data"),
        ] as [([UInt8], String, String)]
    )
    func refusesMalformedFiles(bytes: [UInt8], code: String, words: String) throws {
        let error = try #require(throws: DatasetError.self) { try IDXArray(parsing: bytes) }
        #expect(error.code == DatasetError.Code(code))
        #expect(error.message.contains(words), "\(error.message)")
    }

    @Test func limitsAreApplied() throws {
        let bytes = idxBytes(shape: [10, 10], data: [UInt8](repeating: 1, count: 100))
        let error = try #require(throws: DatasetError.self) {
            try IDXArray(parsing: bytes, limits: DatasetLimits(maximumFileBytes: 99))
        }
        #expect(error.code == .tooLarge)
        #expect(try IDXArray(parsing: bytes, limits: DatasetLimits(maximumFileBytes: 100)).shape == [10, 10])
    }

    /// Compressed and uncompressed files; the header alone for `shape(ofContentsOf:)`.
    @Test func readsFilesCompressedOrNot() throws {
        let directory = try TemporaryDirectory()
        let pixels = (0..<(5 * 28 * 28)).map { UInt8($0 % 251) }
        let bytes = idxBytes(shape: [5, 28, 28], data: pixels)
        try directory.write(bytes, to: "images-idx3-ubyte")
        try directory.write(bytes, to: "copy-idx3-ubyte")
        try run("gzip", [directory.path("copy-idx3-ubyte")])
        for name in ["images-idx3-ubyte", "copy-idx3-ubyte.gz"] {
            let array = try IDXArray(contentsOf: directory.path(name))
            #expect(array.shape == [5, 28, 28])
            #expect(array.elements == pixels)
            #expect(try IDXArray.shape(ofContentsOf: directory.path(name)) == [5, 28, 28])
        }
        // A gzip file whose IDX content is cut short.
        try directory.write(Array(bytes.prefix(1000)), to: "short-idx3-ubyte")
        try run("gzip", [directory.path("short-idx3-ubyte")])
        let error = try #require(throws: DatasetError.self) {
            try IDXArray(contentsOf: directory.path("short-idx3-ubyte.gz"))
        }
        #expect(error.code == .truncated)
        #expect(error.path == directory.path("short-idx3-ubyte.gz"))
    }
}
