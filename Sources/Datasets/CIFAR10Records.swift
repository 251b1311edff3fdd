/// Examples in CIFAR-10's binary format ("CIFAR-10 binary version", cifar-10-binary.tar.gz).
///
/// Each file is a sequence of 3073-byte records: one label byte (0–9), then a 32×32 colour image as
/// 1024 red bytes, 1024 green bytes and 1024 blue bytes, each plane in row-major order, which is
/// already the (C, H, W) layout. The training split is `data_batch_1.bin` … `data_batch_5.bin` in that
/// order (10000 records each), the test split `test_batch.bin` (10000 records).
public struct CIFAR10Records: Hashable, Sendable {
    /// The bytes of one image: 3 × 32 × 32.
    public static let imageBytes = 3 * 32 * 32
    /// The bytes of one record: the label and the image.
    public static let recordBytes = 1 + imageBytes
    /// The shape of one image, (C, H, W).
    public static let exampleShape = [3, 32, 32]
    /// The class names, by label (batches.meta.txt).
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]
    /// The files of the training split, in order.
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    /// The file of the test split.
    public static let testFiles = ["test_batch.bin"]

    /// The images, (N, 3, 32, 32) in C order.
    public private(set) var images: [UInt8]
    /// The labels, one per image, each below 10.
    public private(set) var labels: [UInt8]

    /// The number of records.
    public var count: Int { labels.count }

    /// Parses the bytes of one CIFAR-10 binary file.
    /// - Parameter path: the file the bytes come from, for error messages.
    /// - Throws: `.truncated` when the length is not a whole number of records, `.corrupt` for a label
    ///   above 9.
    public init(parsing bytes: [UInt8], path: String? = nil) throws(DatasetError) {
        images = []
        labels = []
        try append(parsing: bytes, path: path)
    }

    /// Reads CIFAR-10 binary files and concatenates their records in the given order.
    /// - Throws: `.missingFile` naming the first file that does not exist, the errors of `init(parsing:)`,
    ///   and `.tooLarge` beyond `limits` (per file, and for the total number of examples).
    public init(contentsOf paths: [String], limits: DatasetLimits = DatasetLimits()) throws(DatasetError) {
        images = []
        labels = []
        for path in paths {
            let bytes = try InputFile(path: path).readAll(limit: limits.maximumFileBytes)
            guard count + bytes.count / Self.recordBytes <= limits.maximumExamples else {
                throw DatasetError(
                    .tooLarge,
                    "\(paths.joined(separator: ", ")) hold more than the limit of \(limits.maximumExamples) "
                        + "examples (DatasetLimits.maximumExamples)",
                    path: path
                )
            }
            try append(parsing: bytes, path: path)
        }
    }

    private mutating func append(parsing bytes: [UInt8], path: String?) throws(DatasetError) {
        let source = path ?? "the CIFAR-10 data"
        let records = bytes.count / Self.recordBytes
        guard bytes.count % Self.recordBytes == 0 else {
            throw DatasetError(
                .truncated,
                "\(source) holds \(bytes.count) bytes, not a whole number of \(Self.recordBytes)-byte CIFAR-10 "
                    + "records (\(records) records and \(bytes.count % Self.recordBytes) bytes); the file is "
                    + "incomplete or not a CIFAR-10 binary batch (CIFAR-100's records are 3074 bytes)",
                path: path
            )
        }
        images.reserveCapacity(images.count + records * Self.imageBytes)
        labels.reserveCapacity(labels.count + records)
        for record in 0..<records {
            let start = record * Self.recordBytes
            let label = bytes[start]
            guard Int(label) < Self.classNames.count else {
                throw DatasetError(
                    .corrupt,
                    "\(source): record \(record) has label \(label); CIFAR-10 labels are 0 to 9",
                    path: path
                )
            }
            labels.append(label)
            images.append(contentsOf: bytes[(start + 1)..<(start + Self.recordBytes)])
        }
    }
}
