import Datasets
import Foundation
import Testing

/// A catalog over MNIST-style IDX directories written in the test.
@Suite("data-set catalog")
struct CatalogTests {
    /// An MNIST-style directory: `train` and `test` examples of 1×4×3; example i has label i % 10 and
    /// pixels (i + k) % 256 for k = 0..<12. The training files are gzip-compressed, the test files not.
    static func makeDirectory(train: Int, test: Int, testLabels: Int? = nil) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for (prefix, count) in [("train", train), ("t10k", test)] {
            let pixels = (0..<count).flatMap { i in (0..<12).map { UInt8((i + $0) % 256) } }
            let labelCount = prefix == "t10k" ? testLabels ?? count : count
            try directory.write(idxBytes(shape: [count, 4, 3], data: pixels), to: "\(prefix)-images-idx3-ubyte")
            try directory.write(
                idxBytes(shape: [labelCount], data: (0..<labelCount).map { UInt8($0 % 10) }),
                to: "\(prefix)-labels-idx1-ubyte"
            )
        }
        try run("gzip", [directory.path("train-images-idx3-ubyte"), directory.path("train-labels-idx1-ubyte")])
        return directory
    }

    @Test func listsAndLoadsIDXDirectories() throws {
        let digits = try Self.makeDirectory(train: 30, test: 12)
        let broken = try Self.makeDirectory(train: 5, test: 4, testLabels: 3)
        let catalog = try DatasetCatalog(sources: [
            .mnist(directory: digits.url.path),
            .mnist(name: "broken", directory: broken.url.path),
        ])
        let entries = catalog.entries()
        #expect(entries.map(\.name) == ["broken", "mnist"])
        let mnist = entries[1]
        #expect(mnist.available)
        // From the files' headers, not the published 60000/10000 and 28×28.
        #expect(mnist.trainExamples == 30 && mnist.testExamples == 12)
        #expect(mnist.exampleShape == [1, 4, 3])
        #expect(mnist.classNames == (0...9).map(String.init))
        #expect(!entries[0].available)
        #expect(entries[0].unavailableReason?.contains("holds 4 images but") == true)

        let test = try catalog.load("mnist", split: .test)
        #expect(test.shape == [12, 1, 4, 3])
        #expect(test.labels == (0..<12).map { $0 % 10 })
        #expect(test.images[5 * 12 + 7] == Float(5 + 7) / 255)
        let train = try catalog.load("mnist", split: .train, classes: [9, 0], half: .second)
        // Classes 0 and 9 among 30 examples: 0, 9, 10, 19, 20, 29; the second half is 19, 20, 29.
        #expect(train.sourceIndices == [19, 20, 29])
        #expect(train.labels == [9, 0, 9])

        let unknown = try #require(throws: DatasetError.self) { try catalog.load("cifar-10", split: .test) }
        #expect(unknown.code == .unknownDataset)
        #expect(unknown.message.contains("the data sets are: broken, mnist"))
        let badClass = try #require(throws: DatasetError.self) {
            try catalog.load("mnist", split: .test, classes: [10])
        }
        #expect(badClass.code == .invalidArgument)
    }

    @Test func refusesBadFilesAndConfiguration() throws {
        let directory = try Self.makeDirectory(train: 3, test: 3)
        // A label beyond the 10 classes.
        try directory.write(idxBytes(shape: [3], data: [1, 12, 3]), to: "t10k-labels-idx1-ubyte")
        let catalog = try DatasetCatalog(sources: [.mnist(directory: directory.url.path)])
        let label = try #require(throws: DatasetError.self) { try catalog.load("mnist", split: .test) }
        #expect(label.code == .corrupt)
        #expect(label.message.contains("label 1 is 12"))
        // Images of rank 2.
        try directory.write(
            idxBytes(shape: [3, 12], data: [UInt8](repeating: 0, count: 36)),
            to: "t10k-images-idx3-ubyte"
        )
        let rank = try #require(throws: DatasetError.self) { try catalog.load("mnist", split: .test) }
        #expect(rank.message.contains("image files hold (examples, height, width)"))
        // A file that decompresses past the size limit is refused.
        let small = try DatasetCatalog(
            sources: [.mnist(directory: directory.url.path)],
            limits: DatasetLimits(maximumFileBytes: 20)
        )
        let large = try #require(throws: DatasetError.self) { try small.load("mnist", split: .train) }
        #expect(large.code == .tooLarge)

        #expect(throws: DatasetError.self) {
            try DatasetCatalog(sources: [.mnist(directory: "/a"), .cifar10(name: "mnist", directory: "/b")])
        }
    }
}
