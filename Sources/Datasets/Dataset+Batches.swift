/// A batch of examples, ready to become a tensor: `Tensor(shape: batch.shape, scalars: batch.images)`.
public struct Batch: Sendable, Equatable {
    /// The pixels, (n, C, H, W) in C order, each in [0, 1].
    public let images: [Float]
    /// [n, C, H, W].
    public let shape: [Int]
    /// The labels, one per example.
    public let labels: [Int]
    /// The examples' positions in the data set the batch came from.
    public let positions: [Int]
    /// The examples' positions in their whole split (`Dataset.sourceIndices`).
    public let sourceIndices: [Int]

    /// The number of examples.
    public var count: Int { labels.count }
}

/// The order batches visit a data set's examples in.
public enum BatchOrder: Hashable, Sendable {
    /// The data set's own order.
    case sequential
    /// The order of `SeededPermutation.indices(count:seed:)`; use a new seed per epoch, e.g. seed + epoch.
    case shuffled(seed: UInt64)
}

/// A data set cut into batches of `size` examples, the last one smaller when `size` does not divide the
/// count. Random access, so a resumed job can start at the batch where it stopped.
public struct Batches: RandomAccessCollection, Sendable {
    /// The data set.
    public let dataset: Dataset
    /// The examples per batch (the last batch may have fewer).
    public let size: Int
    /// The positions of the examples in visiting order.
    public let order: [Int]

    public var startIndex: Int { 0 }
    public var endIndex: Int { (order.count + size - 1) / size }

    /// Batch `index`: the examples at `order[index * size ..< min((index + 1) * size, count)]`.
    public subscript(index: Int) -> Batch {
        precondition(indices.contains(index), "batch \(index) is outside 0..<\(endIndex)")
        let positions = Array(order[(index * size)..<Swift.min((index + 1) * size, order.count)])
        return dataset.batch(at: positions)
    }
}

extension Dataset {
    /// The data set in batches of `size` examples, in the given order.
    /// - Throws: `.invalidArgument` when `size` is below 1.
    public func batches(size: Int, order: BatchOrder = .sequential) throws(DatasetError) -> Batches {
        guard size >= 1 else {
            throw DatasetError(.invalidArgument, "a batch holds at least 1 example, not \(size)")
        }
        let positions: [Int] =
            switch order {
            case .sequential: Array(0..<count)
            case .shuffled(let seed): SeededPermutation.indices(count: count, seed: seed)
            }
        return Batches(dataset: self, size: size, order: positions)
    }

    /// The examples in `range` as one batch.
    /// - Precondition: `range` lies within 0..<count.
    public func batch(_ range: Range<Int>) -> Batch {
        batch(at: Array(range))
    }

    /// The examples at `positions`, in that order, as one batch.
    /// - Precondition: every position lies within 0..<count.
    public func batch(at positions: [Int]) -> Batch {
        precondition(positions.allSatisfy { labels.indices.contains($0) }, "a batch position is outside 0..<\(count)")
        return Batch(
            images: gatheredImages(positions),
            shape: [positions.count] + exampleShape,
            labels: positions.map { labels[$0] },
            positions: positions,
            sourceIndices: positions.map { sourceIndices[$0] }
        )
    }
}
