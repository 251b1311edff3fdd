/// Bounds on what the readers accept, checked before memory is allocated for it, so that a corrupt or
/// hostile file (a gzip bomb, an IDX header claiming 2³² images) is refused with an error instead of
/// exhausting the daemon's memory.
public struct DatasetLimits: Hashable, Sendable {
    /// The most bytes one file may hold after decompression (or on disk, when not compressed).
    /// The default, 128 MiB, holds Fashion-MNIST's training images (47 MB) and a CIFAR-10 batch (30 MB).
    public var maximumFileBytes: Int
    /// The most examples one split may have. The images are held as Float, 4 bytes per pixel byte.
    public var maximumExamples: Int
    /// The most dimensions an IDX file may declare.
    public var maximumIDXRank: Int

    /// Creates limits.
    public init(maximumFileBytes: Int = 128 << 20, maximumExamples: Int = 1_000_000, maximumIDXRank: Int = 4) {
        self.maximumFileBytes = maximumFileBytes
        self.maximumExamples = maximumExamples
        self.maximumIDXRank = maximumIDXRank
    }
}
