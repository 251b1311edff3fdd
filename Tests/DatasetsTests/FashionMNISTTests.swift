import Datasets
import Foundation
import Testing

/// The real Fashion-MNIST files of Debian's dataset-fashion-mnist package (scripts/bootstrap installs it).
///
/// The golden numbers come from Python reading the same files with gzip and struct only:
///
///     python3 -c "
///     import gzip, struct
///     d = '/usr/share/datasets/fashion-mnist/'
///     for split in ('t10k', 'train'):
///         img = gzip.open(d + split + '-images-idx3-ubyte.gz').read()
///         lab = gzip.open(d + split + '-labels-idx1-ubyte.gz').read()
///         print(split, struct.unpack('>IIII', img[:16]), struct.unpack('>II', lab[:8]))
///         print(sum(img[16:]), sum(i * l for i, l in enumerate(lab[8:])), [lab[8:].count(c) for c in range(10)])
///     "
///
/// which printed (magic 0x803 = 2051, 0x801 = 2049):
///
///     t10k (2051, 10000, 28, 28) (2049, 10000)
///     573469082 225732341 [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
///     train (2051, 60000, 28, 28) (2049, 60000)
///     3431114169 8087216427 [6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000]
@Suite("Fashion-MNIST from dataset-fashion-mnist")
struct FashionMNISTTests {
    static let directory = DatasetSource.debianFashionMNISTDirectory

    static func requireInstalled() throws {
        try #require(
            FileManager.default.fileExists(atPath: directory + "/t10k-images-idx3-ubyte.gz"),
            "Fashion-MNIST is not installed: run scripts/bootstrap (apt-get install dataset-fashion-mnist)"
        )
    }

    /// Σ i · label_i: checks the labels' order, not only their histogram.
    static func weightedLabelSum(_ labels: [Int]) -> Int {
        labels.enumerated().reduce(0) { $0 + $1.offset * $1.element }
    }

    @Test func testSetMatchesPython() throws {
        try Self.requireInstalled()
        let catalog = try DatasetCatalog()
        let data = try catalog.load("fashion-mnist", split: .test)

        #expect(data.count == 10000)
        #expect(data.shape == [10000, 1, 28, 28])
        #expect(data.classCounts() == [Int](repeating: 1000, count: 10))
        #expect(data.classNames[0] == "T-shirt/top" && data.classNames[9] == "Ankle boot")
        #expect(Self.weightedLabelSum(data.labels) == 225_732_341)
        // Back from [0, 1] to bytes: every pixel is exactly b / 255.
        var byteSum = 0
        var offGrid = 0
        for pixel in data.images {
            let byte = (pixel * 255).rounded()
            if pixel != byte / 255 { offGrid += 1 }
            byteSum += Int(byte)
        }
        #expect(byteSum == 573_469_082)
        #expect(offGrid == 0)
    }

    @Test func trainingFilesMatchPython() throws {
        try Self.requireInstalled()
        let images = try IDXArray(contentsOf: Self.directory + "/train-images-idx3-ubyte.gz")
        let labels = try IDXArray(contentsOf: Self.directory + "/train-labels-idx1-ubyte.gz")
        #expect(images.shape == [60000, 28, 28])
        #expect(labels.shape == [60000])
        #expect(images.elements.reduce(0) { $0 + Int($1) } == 3_431_114_169)
        #expect(Self.weightedLabelSum(labels.elements.map { Int($0) }) == 8_087_216_427)
    }

    @Test func catalogListsIt() throws {
        try Self.requireInstalled()
        let entries = try DatasetCatalog().entries()
        #expect(entries.map(\.name) == ["fashion-mnist"])
        let info = try #require(entries.first)
        #expect(info.available)
        #expect(info.unavailableReason == nil && info.installHint.isEmpty)
        #expect(info.exampleShape == [1, 28, 28])
        #expect(info.trainExamples == 60000 && info.testExamples == 10000)
        #expect(
            info.classNames == [
                "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot",
            ]
        )
    }

    /// Held-out halves of a class subset of the test set: Sandal (5) and Sneaker (7), 2000 examples.
    @Test func classSubsetHalves() throws {
        try Self.requireInstalled()
        let catalog = try DatasetCatalog()
        let both = try catalog.load("fashion-mnist", split: .test, classes: [5, 7])
        let first = try catalog.load("fashion-mnist", split: .test, classes: [5, 7], half: .first)
        let second = try catalog.load("fashion-mnist", split: .test, classes: [5, 7], half: .second)
        #expect(both.count == 2000)
        #expect(first.count == 1000 && second.count == 1000)
        #expect(Set(both.labels) == [5, 7])
        #expect(first.sourceIndices + second.sourceIndices == both.sourceIndices)
        #expect(both.sourceIndices == both.sourceIndices.sorted())
        #expect(first.images + second.images == both.images)
        // The test set is in random order, so each half has about half of each class.
        #expect((400...600).contains(first.classCounts()[5]))
    }

    /// A Fashion-MNIST directory without the files: listed as unavailable, loading names the file.
    @Test func missingFilesAreNamed() throws {
        let directory = try TemporaryDirectory()
        let catalog = try DatasetCatalog(sources: [.fashionMNIST(directory: directory.url.path)])
        let info = try catalog.info(named: "fashion-mnist")
        #expect(!info.available)
        #expect(info.trainExamples == 60000 && info.exampleShape == [1, 28, 28])
        #expect(info.unavailableReason?.contains("train-images-idx3-ubyte.gz") == true)
        #expect(info.installHint.contains("apt-get install dataset-fashion-mnist"))
        let error = try #require(throws: DatasetError.self) { try catalog.load("fashion-mnist", split: .test) }
        #expect(error.code == .missingFile)
        #expect(error.path == directory.path("t10k-images-idx3-ubyte.gz"))
        #expect(error.message.contains("fashion-mnist is missing its test images"))
        #expect(error.message.contains("apt-get install dataset-fashion-mnist"))
        // The Debian location's hint is the package alone.
        #expect(DatasetSource.fashionMNIST().installHint == "apt-get install dataset-fashion-mnist")
    }
}
