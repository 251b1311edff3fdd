import Foundation
import SwiftProtobuf
import TensorEngine
import Testing

@testable import ONNXInterop

/// PyTorch's linear model with its weight moved into a file beside it, as exporters do for big models.
@Suite("External data: read only from files beside the model, bounded")
struct ExternalDataTests {
    let directory: URL
    let original: Onnx_ModelProto
    let weightBytes: Data

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-ext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear/model.onnx")
        original = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: url))
        let weight = try #require(original.graph.initializer.first { $0.name == "1" })
        let decoded = try TensorDecoding.decode(weight, limits: .default).asTensor
        weightBytes = Data(decoded.scalars.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    /// Writes the model with weight '1' external at `location` (offset 16 into a padded file).
    func write(location: String, length: Int? = nil, fileBytes: Data? = nil) throws -> URL {
        var proto = original
        let index = try #require(proto.graph.initializer.firstIndex { $0.name == "1" })
        var weight = proto.graph.initializer[index]
        weight.rawData = Data()
        weight.floatData = []
        weight.dataLocation = .external
        func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
            var e = Onnx_StringStringEntryProto()
            e.key = key
            e.value = value
            return e
        }
        weight.externalData = [
            entry("location", location), entry("offset", "16"), entry("length", String(length ?? weightBytes.count)),
        ]
        proto.graph.initializer[index] = weight
        if let fileBytes {
            try fileBytes.write(to: directory.appendingPathComponent("weights.bin"))
        } else {
            try (Data(count: 16) + weightBytes).write(to: directory.appendingPathComponent("weights.bin"))
        }
        let url = directory.appendingPathComponent("model.onnx")
        let bytes: Data = try proto.serializedBytes()
        try bytes.write(to: url)
        return url
    }

    @Test func externalWeightsGiveTheSameOutputs() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try write(location: "weights.bin")
        var rng = RandomGenerator(seed: 1)
        let x = Tensor(shape: [4, 10], scalars: (0..<40).map { _ in rng.nextNormal() })
        let inline = try ImportedGraph(try ONNXModel(serialized: try original.serializedBytes() as Data))
        let external = try ImportedGraph(try ONNXModel(contentsOf: url))
        #expect(try external.run(["0": x])["3"]?.scalars == inline.run(["0": x])["3"]?.scalars)
        // Parsed from memory there is no directory to read from: a clear error.
        let error = #expect(throws: ONNXError.self) {
            try ImportedGraph(try ONNXModel(serialized: try Data(contentsOf: url)))
        }
        #expect(error?.description.contains("external") == true)
    }

    @Test(arguments: ["../weights.bin", "/etc/passwd", "sub/../weights.bin", "missing.bin"])
    func locationsOutsideTheDirectoryAreRefused(_ location: String) throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try write(location: location)
        let error = #expect(throws: ONNXError.self) { try ONNXModel(contentsOf: url) }
        #expect(error?.description.contains(location) == true || error?.description.contains("external") == true)
    }

    @Test func symlinksLeadingOutAreRefused() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try write(location: "link.bin")
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("link.bin").path,
            withDestinationPath: "/etc/hostname"
        )
        let error = #expect(throws: ONNXError.self) { try ONNXModel(contentsOf: url) }
        #expect(error?.description.contains("outside") == true)
    }

    @Test func rangesPastTheFileAndWrongSizesAreRefused() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let short = try write(location: "weights.bin", fileBytes: Data(count: 100))
        let pastEnd = #expect(throws: ONNXError.self) { try ONNXModel(contentsOf: short) }
        #expect(pastEnd?.description.contains("past the end") == true)
        // The range fits the file but not the tensor's declared size.
        let wrong = try write(location: "weights.bin", length: weightBytes.count - 4)
        #expect(throws: ONNXError.self) { try ImportedGraph(try ONNXModel(contentsOf: wrong)) }
    }

    @Test func externalDataCountsAgainstTheSizeLimit() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try write(location: "weights.bin")
        var limits = ImportLimits()
        limits.maximumFileBytes =
            Int(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0) + 100
        let error = #expect(throws: ONNXError.self) { try ONNXModel(contentsOf: url, limits: limits) }
        #expect(error?.code == .limitExceeded)
    }
}
