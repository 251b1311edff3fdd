/// An array in the IDX format of MNIST and Fashion-MNIST, with unsigned-byte elements.
///
/// The format: a magic number of four bytes, `0x00 0x00 type rank`, where type 0x08 means unsigned
/// bytes (0x09 signed bytes, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, which rkd does not
/// read); then `rank` dimension sizes, each a big-endian UInt32; then the elements in C order, and
/// nothing after them. MNIST's images are rank 3 (N, 28, 28), its labels rank 1 (N).
public struct IDXArray: Hashable, Sendable {
    /// The dimension sizes, outermost first.
    public let shape: [Int]
    /// The elements, in C (row-major) order.
    public let elements: [UInt8]

    /// The type code of unsigned-byte elements.
    public static let unsignedByteType: UInt8 = 0x08

    /// An array from its shape and elements.
    /// - Throws: `.invalidArgument` when the element count does not match the shape.
    public init(shape: [Int], elements: [UInt8]) throws(DatasetError) {
        guard shape.allSatisfy({ $0 >= 0 }), Self.product(shape) == elements.count else {
            throw DatasetError(.invalidArgument, "IDX shape \(shape) does not hold \(elements.count) elements")
        }
        self.shape = shape
        self.elements = elements
    }

    /// Parses the bytes of an IDX file (already decompressed).
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - path: the file the bytes come from, for error messages.
    /// - Throws: `.corrupt` for a bad magic number or data longer than the header says, `.truncated` for
    ///   data shorter than it says, `.unsupported` for element types other than unsigned bytes, and
    ///   `.tooLarge` for a rank above `limits.maximumIDXRank` or more elements than `limits.maximumFileBytes`.
    public init(
        parsing bytes: [UInt8],
        path: String? = nil,
        limits: DatasetLimits = DatasetLimits()
    ) throws(DatasetError) {
        let source = path ?? "the IDX data"
        let shape = try Self.parseHeader(bytes, path: path, limits: limits)
        let headerSize = 4 + 4 * shape.count
        guard let count = Self.product(shape), count <= limits.maximumFileBytes else {
            throw DatasetError(
                .tooLarge,
                "\(source) declares shape \(shape), more than the limit of \(limits.maximumFileBytes) elements "
                    + "(DatasetLimits.maximumFileBytes)",
                path: path
            )
        }
        let available = bytes.count - headerSize
        guard available >= count else {
            throw DatasetError(
                .truncated,
                "\(source) is truncated: its header declares shape \(shape), \(count) bytes of data, but only "
                    + "\(available) follow; download or install the file again",
                path: path
            )
        }
        guard available == count else {
            throw DatasetError(
                .corrupt,
                "\(source) has \(available - count) bytes after the \(count) bytes of data its header declares "
                    + "(shape \(shape)); it is not a well-formed IDX file",
                path: path
            )
        }
        self.shape = shape
        self.elements = Array(bytes[headerSize...])
    }

    /// Reads an IDX file, decompressing it first when its name ends in `.gz`.
    public init(contentsOf path: String, limits: DatasetLimits = DatasetLimits()) throws(DatasetError) {
        let headerLimit = 4 + 4 * limits.maximumIDXRank
        let bytes: [UInt8]
        if path.hasSuffix(".gz") {
            bytes = try Gzip.decompress(contentsOf: path, limit: limits.maximumFileBytes + headerLimit)
        } else {
            bytes = try InputFile(path: path).readAll(limit: limits.maximumFileBytes + headerLimit)
        }
        try self.init(parsing: bytes, path: path, limits: limits)
    }

    /// The shape declared by the header of the IDX file at `path`, reading only the header.
    public static func shape(
        ofContentsOf path: String,
        limits: DatasetLimits = DatasetLimits()
    ) throws(DatasetError) -> [Int] {
        let headerLimit = 4 + 4 * limits.maximumIDXRank
        let bytes =
            path.hasSuffix(".gz")
            ? try Gzip.prefix(headerLimit, ofContentsOf: path)
            : try InputFile(path: path).bytes(at: 0, count: headerLimit)
        return try parseHeader(bytes, path: path, limits: limits)
    }

    /// The shape in the magic number and dimension sizes at the start of `bytes`.
    static func parseHeader(_ bytes: [UInt8], path: String?, limits: DatasetLimits) throws(DatasetError) -> [Int] {
        let source = path ?? "the IDX data"
        guard bytes.count >= 4 else {
            throw DatasetError(
                .truncated,
                "\(source) is truncated: \(bytes.count) bytes, less than the 4-byte IDX magic number",
                path: path
            )
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(
                .corrupt,
                "\(source) is not an IDX file: its magic number \(hex(bytes.prefix(4))) does not start with two "
                    + "zero bytes (MNIST's images start 00 00 08 03, its labels 00 00 08 01)",
                path: path
            )
        }
        let type = bytes[2]
        guard type == unsignedByteType else {
            let known: [UInt8: String] = [
                0x09: "signed bytes", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
            ]
            guard let name = known[type] else {
                throw DatasetError(
                    .corrupt,
                    "\(source) is not an IDX file: type code \(hex([type])) in its magic number is not an IDX type",
                    path: path
                )
            }
            throw DatasetError(
                .unsupported,
                "\(source) holds \(name) (IDX type code \(hex([type]))); rkd reads only unsigned-byte IDX files "
                    + "(type 08) such as MNIST's",
                path: path
            )
        }
        let rank = Int(bytes[3])
        guard rank >= 1, rank <= limits.maximumIDXRank else {
            throw DatasetError(
                rank == 0 ? .corrupt : .tooLarge,
                "\(source) declares rank \(rank); rkd reads IDX arrays of rank 1 to \(limits.maximumIDXRank)",
                path: path
            )
        }
        guard bytes.count >= 4 + 4 * rank else {
            throw DatasetError(
                .truncated,
                "\(source) is truncated: it ends inside the \(rank) dimension sizes of its header",
                path: path
            )
        }
        return (0..<rank).map { axis in
            bytes[(4 + 4 * axis)..<(8 + 4 * axis)].reduce(0) { $0 << 8 | Int($1) }
        }
    }

    static func product(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}
