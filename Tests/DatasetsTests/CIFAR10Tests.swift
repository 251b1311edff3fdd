import Datasets
import Foundation
import Testing

/// CIFAR-10 binary files written in the test: records of a label byte and 3072 pixel bytes.
@Suite("CIFAR-10 binary")
struct CIFAR10Tests {
    /// The pixel byte of example `example` at channel c, row h, column w.
    static func pixel(_ example: Int, _ c: Int, _ h: Int, _ w: Int) -> UInt8 {
        UInt8((example * 7 + c * 31 + h * 3 + w) % 256)
    }

    /// One record: the label, then red, green and blue planes, each row by row.
    static func record(example: Int, label: UInt8) -> [UInt8] {
        var bytes = [label]
        for c in 0..<3 {
            for h in 0..<32 {
                for w in 0..<32 { bytes.append(pixel(example, c, h, w)) }
            }
        }
        return bytes
    }

    /// A CIFAR-10 directory with `perBatch` records in each of the six files; example e (numbered
    /// across the training batches in order) has label e % 10.
    static func makeDirectory(perBatch: Int) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for (batch, name) in (CIFAR10Records.trainFiles + CIFAR10Records.testFiles).enumerated() {
            let first = (batch % 5) * perBatch
            let bytes = (first..<(first + perBatch)).flatMap { record(example: $0, label: UInt8($0 % 10)) }
            try directory.write(bytes, to: name)
        }
        return directory
    }

    @Test func parsesRecords() throws {
        let bytes = Self.record(example: 0, label: 3) + Self.record(example: 1, label: 9)
        let records = try CIFAR10Records(parsing: bytes)
        #expect(records.count == 2)
        #expect(records.labels == [3, 9])
        #expect(records.images.count == 2 * 3072)
        // Example 1, green (c = 1), row 2, column 5.
        #expect(records.images[3072 + 1024 + 2 * 32 + 5] == Self.pixel(1, 1, 2, 5))
    }

    @Test func refusesBadRecords() throws {
        let good = Self.record(example: 0, label: 3)
        let short = try #require(throws: DatasetError.self) { try CIFAR10Records(parsing: good + good.dropLast()) }
        #expect(short.code == .truncated)
        #expect(short.message.contains("1 records and 3072 bytes"))
        var badLabel = good + good
        badLabel[3073] = 10
        let label = try #require(throws: DatasetError.self) { try CIFAR10Records(parsing: badLabel) }
        #expect(label.code == .corrupt)
        #expect(label.message.contains("record 1 has label 10"))
    }

    @Test func catalogLoadsBothSplits() throws {
        let directory = try Self.makeDirectory(perBatch: 3)
        let catalog = try DatasetCatalog(sources: [.cifar10(directory: directory.url.path)])
        let info = try catalog.info(named: "cifar-10")
        #expect(info.available)
        #expect(info.trainExamples == 15)
        #expect(info.testExamples == 3)
        #expect(info.exampleShape == [3, 32, 32])
        #expect(info.classNames.count == 10 && info.classNames[0] == "airplane" && info.classNames[9] == "truck")

        let train = try catalog.load("cifar-10", split: .train)
        #expect(train.shape == [15, 3, 32, 32])
        #expect(train.labels == (0..<15).map { $0 % 10 })
        // Example 11 (batch 4, second record), blue, row 31, column 0: b / 255.
        let offset = 11 * 3072 + 2 * 1024 + 31 * 32 + 0
        #expect(train.images[offset] == Float(Self.pixel(11, 2, 31, 0)) / 255)
        #expect(train.images.allSatisfy { (0...1).contains($0) })

        let test = try catalog.load("cifar-10", split: .test, classes: [1, 2])
        #expect(test.labels == [1, 2])
        #expect(test.sourceIndices == [1, 2])
    }

    @Test func missingBatchIsNamed() throws {
        let directory = try Self.makeDirectory(perBatch: 1)
        try FileManager.default.removeItem(atPath: directory.path("data_batch_3.bin"))
        let catalog = try DatasetCatalog(sources: [.cifar10(directory: directory.url.path)])
        let info = try catalog.info(named: "cifar-10")
        #expect(!info.available)
        #expect(info.unavailableReason?.contains("data_batch_3.bin does not exist") == true)
        #expect(info.installHint.contains("cifar-10-binary.tar.gz"))
        let error = try #require(throws: DatasetError.self) { try catalog.load("cifar-10", split: .train) }
        #expect(error.code == .missingFile)
        #expect(error.path == directory.path("data_batch_3.bin"))
        // The test split does not need the training batches.
        #expect(try catalog.load("cifar-10", split: .test).count == 1)
    }
}
