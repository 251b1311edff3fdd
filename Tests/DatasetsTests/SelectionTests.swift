import Testing

@testable import Datasets

/// Class subsets, halves, shuffles and batches on a small data set made in the test.
@Suite("selections and batches")
struct SelectionTests {
    /// 21 examples of shape 1×2×2 in 4 classes; example i has label i % 4 and every pixel i / 255.
    static func small() throws -> Dataset {
        try Dataset(
            name: "small",
            split: .test,
            exampleShape: [1, 2, 2],
            classNames: ["a", "b", "c", "d"],
            pixelBytes: (0..<21).flatMap { [UInt8](repeating: UInt8($0), count: 4) },
            labels: (0..<21).map { $0 % 4 }
        )
    }

    /// The example each position holds, read back from its pixels.
    static func ids(_ dataset: Dataset) -> [Int] {
        (0..<dataset.count).map { Int((dataset.images[$0 * 4] * 255).rounded()) }
    }

    @Test func classSubsetKeepsOrderAndOriginalLabels() throws {
        let data = try Self.small()
        let subset = try data.restricted(toClasses: [3, 1])
        #expect(Self.ids(subset) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
        #expect(subset.labels == [1, 3, 1, 3, 1, 3, 1, 3, 1, 3])
        #expect(subset.sourceIndices == Self.ids(subset))
        #expect(subset.classNames == data.classNames)
        #expect(subset.classCounts() == [0, 5, 0, 5])
        #expect(subset.shape == [10, 1, 2, 2])
        #expect(try data.selecting(classes: []).count == 21)

        let unknown = try #require(throws: DatasetError.self) { try data.restricted(toClasses: [4]) }
        #expect(unknown.code == .invalidArgument)
        #expect(unknown.message.contains("no class 4"))
        let twice = try #require(throws: DatasetError.self) { try data.restricted(toClasses: [2, 2]) }
        #expect(twice.message.contains("listed twice"))
    }

    /// A model with one output per selected class sees the selection numbered in the order given; a
    /// model with another number of outputs, or a selection of every class, keeps the original ids.
    @Test func selectionsAreNumberedForAModelOfTheirSize() throws {
        let subset = try Self.small().restricted(toClasses: [3, 1])
        let numbered = subset.numbered(forSelection: [3, 1], outputs: 2)
        #expect(numbered.labels == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        #expect(numbered.classNames == ["d", "b"])
        #expect(numbered.images == subset.images && numbered.sourceIndices == subset.sourceIndices)
        #expect(subset.numbered(forSelection: [3, 1], outputs: 4).labels == subset.labels)
        #expect(subset.numbered(forSelection: [], outputs: 2).labels == subset.labels)
        let all = try Self.small().restricted(toClasses: [3, 2, 1, 0])
        #expect(all.numbered(forSelection: [3, 2, 1, 0], outputs: 4).labels == all.labels)
        #expect(Dataset.numbering(of: [3, 1], outputs: 2, classCount: 4) == [3: 0, 1: 1])
    }

    @Test func halvesSplitTheSelection() throws {
        let data = try Self.small()
        #expect(Self.ids(data.half(.first)) == Array(0..<10))
        #expect(Self.ids(data.half(.second)) == Array(10..<21))
        // Halves of a class subset are halves of the subset: classes 0 and 2 are examples 0, 2, …, 20.
        let first = try data.selecting(classes: [0, 2], half: .first)
        let second = try data.selecting(classes: [0, 2], half: .second)
        #expect(Self.ids(first) == [0, 2, 4, 6, 8])
        #expect(Self.ids(second) == [10, 12, 14, 16, 18, 20])
        #expect(second.sourceIndices == [10, 12, 14, 16, 18, 20])
        #expect(second.labels == [2, 0, 2, 0, 2, 0])
        #expect(data.prefix(3).count == 3 && data.prefix(100).count == 21)
    }

    /// SplitMix64's first outputs for seed 0 are the published ones, and permutations match this
    /// Python transcription of the algorithm documented in SeededPermutation:
    ///
    ///     M = (1 << 64) - 1
    ///     def splitmix(s):
    ///         while True:
    ///             s = (s + 0x9E3779B97F4A7C15) & M; z = s
    ///             z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    ///             z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    ///             yield z ^ (z >> 31)
    ///     def below(g, n):
    ///         m = next(g) * n
    ///         if m & M < n:
    ///             t = (2**64 - n) % n
    ///             while m & M < t: m = next(g) * n
    ///         return m >> 64
    ///     def perm(count, seed):
    ///         g = splitmix(seed); o = list(range(count))
    ///         for i in range(count - 1, 0, -1):
    ///             j = below(g, i + 1); o[i], o[j] = o[j], o[i]
    ///         return o
    ///     print(perm(10, 42), perm(12, 0))
    @Test func seededPermutationIsFixed() {
        var generator = SplitMix64(seed: 0)
        #expect(
            [generator.next(), generator.next(), generator.next()] == [
                0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F,
            ]
        )
        #expect(SeededPermutation.indices(count: 10, seed: 42) == [8, 3, 6, 5, 4, 0, 9, 2, 1, 7])
        #expect(SeededPermutation.indices(count: 12, seed: 0) == [5, 11, 6, 7, 3, 1, 2, 9, 8, 0, 4, 10])
        #expect(SeededPermutation.indices(count: 0, seed: 1).isEmpty)
        #expect(SeededPermutation.indices(count: 1, seed: 1) == [0])
        let large = SeededPermutation.indices(count: 10_000, seed: 7)
        #expect(large.sorted() == Array(0..<10_000))
        #expect(large != SeededPermutation.indices(count: 10_000, seed: 8))
    }

    @Test func shuffleMovesExamplesWithTheirLabels() throws {
        let data = try Self.small()
        let shuffled = data.shuffled(seed: 3)
        let order = SeededPermutation.indices(count: 21, seed: 3)
        #expect(Self.ids(shuffled) == order)
        #expect(shuffled.labels == order.map { $0 % 4 })
        #expect(shuffled.sourceIndices == order)
        #expect(Self.ids(data.shuffled(seed: 3)) == Self.ids(shuffled))
    }

    @Test func batchesCoverEveryExampleOnce() throws {
        let data = try Self.small().restricted(toClasses: [0, 1, 2])
        let batches = try data.batches(size: 4)
        #expect(batches.count == 4)
        #expect(batches.map(\.count) == [4, 4, 4, 4])
        let last = batches[3]
        #expect(last.shape == [4, 1, 2, 2])
        #expect(last.positions == [12, 13, 14, 15])
        #expect(last.sourceIndices == [16, 17, 18, 20])
        #expect(last.labels == last.sourceIndices.map { $0 % 4 })
        #expect(last.images == data.batch(12..<16).images)
        #expect(last.images.count == 16)
        #expect(last.images[0] * 255 == Float(last.sourceIndices[0]))

        let uneven = try data.batches(size: 5)
        #expect(uneven.map(\.count) == [5, 5, 5, 1])
        let shuffled = try data.batches(size: 5, order: .shuffled(seed: 9))
        #expect(shuffled.flatMap(\.positions) == SeededPermutation.indices(count: 16, seed: 9))
        #expect(shuffled.flatMap(\.sourceIndices).sorted() == data.sourceIndices)

        let error = try #require(throws: DatasetError.self) { try data.batches(size: 0) }
        #expect(error.code == .invalidArgument)
    }

    @Test func constructionIsValidated() throws {
        func make(images: [Float], labels: [Int], shape: [Int] = [1, 1, 2]) throws -> Dataset {
            try Dataset(
                name: "x",
                split: .train,
                exampleShape: shape,
                classNames: ["a", "b"],
                images: images,
                labels: labels
            )
        }
        #expect(try make(images: [0, 1, 0.5, 0.25], labels: [0, 1]).count == 2)
        #expect(throws: DatasetError.self) { try make(images: [0, 1, 0.5], labels: [0, 1]) }
        #expect(throws: DatasetError.self) { try make(images: [0, 1, 0.5, 1.5], labels: [0, 1]) }
        #expect(throws: DatasetError.self) { try make(images: [0, 1, 0.5, .nan], labels: [0, 1]) }
        #expect(throws: DatasetError.self) { try make(images: [0, 1, 0.5, 0], labels: [0, 2]) }
        #expect(throws: DatasetError.self) { try make(images: [0, 1, 0.5, 0], labels: [0, 1], shape: [2, 2]) }
        // b / 255 exactly, so 255 is 1 and 51 is 0.2 rounded once.
        let bytes = try Dataset(
            name: "x",
            split: .train,
            exampleShape: [1, 1, 3],
            classNames: ["a"],
            pixelBytes: [0, 51, 255],
            labels: [0]
        )
        #expect(bytes.images == [0, Float(51) / 255, 1])
    }
}
