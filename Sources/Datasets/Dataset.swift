/// Labelled images of one split of a data set, held in memory as the models take them: Float pixels
/// in [0, 1] (a byte b becomes b / 255), flat storage in (N, C, H, W) order.
///
/// A value: selections (`selecting(classes:half:)`, `shuffled(seed:)`, `prefix(_:)`) make new data sets
/// and leave this one as it is. Each example remembers its position in the whole split
/// (`sourceIndices`), so that results can name examples however they were selected.
public struct Dataset: Sendable {
    /// A split of a data set.
    public enum Split: String, Hashable, Sendable, CaseIterable, Codable {
        /// The training split.
        case train
        /// The test split.
        case test
    }

    /// One half of a selection, for held-out experiments (e.g. fine-tune on one half, evaluate on the other).
    public enum Half: String, Hashable, Sendable, CaseIterable, Codable {
        /// The first ⌊n/2⌋ examples.
        case first
        /// The remaining n − ⌊n/2⌋ examples.
        case second
    }

    /// The data set's name, e.g. `fashion-mnist`.
    public let name: String
    /// The split the examples come from.
    public let split: Split
    /// The shape of one example, [C, H, W].
    public let exampleShape: [Int]
    /// The class names, indexed by label. Class subsets keep every name, since labels keep their ids.
    public let classNames: [String]
    /// The pixels, (N, C, H, W) in C order, each in [0, 1].
    public private(set) var images: [Float]
    /// The labels, one per example, each an index into `classNames`.
    public private(set) var labels: [Int]
    /// For each example, its position in the whole split as the files store it.
    public private(set) var sourceIndices: [Int]

    /// The number of examples.
    public var count: Int { labels.count }
    /// The shape of `images`: [N, C, H, W].
    public var shape: [Int] { [count] + exampleShape }
    /// The number of Floats in one example, C × H × W.
    public var exampleSize: Int { exampleShape.reduce(1, *) }

    /// A data set from Float pixels.
    /// - Parameter sourceIndices: each example's position in the whole split; nil: 0, 1, 2, ….
    /// - Throws: `.invalidArgument` when the example shape is not three positive sizes, the image count
    ///   does not match the labels, a pixel is outside [0, 1] (or NaN), or a label is not a class index.
    public init(
        name: String,
        split: Split,
        exampleShape: [Int],
        classNames: [String],
        images: [Float],
        labels: [Int],
        sourceIndices: [Int]? = nil
    ) throws(DatasetError) {
        try Self.validate(
            name: name,
            exampleShape: exampleShape,
            classNames: classNames,
            imageCount: images.count,
            labels: labels
        )
        if let index = images.firstIndex(where: { !(0...1).contains($0) }) {
            throw DatasetError(
                .invalidArgument,
                "\(name): pixel \(index) is \(images[index]); pixels must be in [0, 1]"
            )
        }
        let indices = sourceIndices ?? Array(labels.indices)
        guard indices.count == labels.count else {
            throw DatasetError(
                .invalidArgument,
                "\(name): \(indices.count) source indices for \(labels.count) examples"
            )
        }
        self.init(
            unchecked: name,
            split: split,
            exampleShape: exampleShape,
            classNames: classNames,
            images: images,
            labels: labels,
            sourceIndices: indices
        )
    }

    /// A data set from pixel bytes, each byte b becoming b / 255.
    /// - Throws: as `init(name:split:exampleShape:classNames:images:labels:sourceIndices:)`.
    public init(
        name: String,
        split: Split,
        exampleShape: [Int],
        classNames: [String],
        pixelBytes: [UInt8],
        labels: [Int]
    ) throws(DatasetError) {
        try Self.validate(
            name: name,
            exampleShape: exampleShape,
            classNames: classNames,
            imageCount: pixelBytes.count,
            labels: labels
        )
        self.init(
            unchecked: name,
            split: split,
            exampleShape: exampleShape,
            classNames: classNames,
            images: Self.unitInterval(pixelBytes),
            labels: labels,
            sourceIndices: Array(labels.indices)
        )
    }

    /// A data set whose invariants the caller has established.
    init(
        unchecked name: String,
        split: Split,
        exampleShape: [Int],
        classNames: [String],
        images: [Float],
        labels: [Int],
        sourceIndices: [Int]
    ) {
        self.name = name
        self.split = split
        self.exampleShape = exampleShape
        self.classNames = classNames
        self.images = images
        self.labels = labels
        self.sourceIndices = sourceIndices
    }

    /// How many examples each class has, indexed by label.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for label in labels { counts[label] += 1 }
        return counts
    }

    private static func validate(
        name: String,
        exampleShape: [Int],
        classNames: [String],
        imageCount: Int,
        labels: [Int]
    ) throws(DatasetError) {
        guard exampleShape.count == 3, exampleShape.allSatisfy({ $0 > 0 }) else {
            throw DatasetError(
                .invalidArgument,
                "\(name): the example shape \(exampleShape) is not [channels, height, width] with positive sizes"
            )
        }
        let exampleSize = exampleShape.reduce(1, *)
        guard imageCount == labels.count * exampleSize else {
            throw DatasetError(
                .invalidArgument,
                "\(name): \(imageCount) pixels do not make \(labels.count) examples of shape \(exampleShape) "
                    + "(\(labels.count * exampleSize) pixels)"
            )
        }
        guard !classNames.isEmpty else {
            throw DatasetError(.invalidArgument, "\(name): a data set needs at least one class name")
        }
        if let index = labels.firstIndex(where: { !classNames.indices.contains($0) }) {
            throw DatasetError(
                .invalidArgument,
                "\(name): example \(index) has label \(labels[index]), but the \(classNames.count) classes are "
                    + "labelled 0 to \(classNames.count - 1)"
            )
        }
    }

    /// Each byte b as b / 255 (correctly rounded, so 255 becomes exactly 1).
    static func unitInterval(_ bytes: [UInt8]) -> [Float] {
        [Float](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
            bytes.withUnsafeBufferPointer { source in
                for index in source.indices { buffer[index] = Float(source[index]) / 255 }
            }
            initialized = bytes.count
        }
    }
}
