import Foundation
import Testing

/// Local files are checked before rkdctl connects: the errors are clear whether or not a daemon runs.
@Suite("rkdctl local file errors")
struct LocalFileTests {
    let directory: URL
    let model: String

    init() throws {
        directory = try makeTemporaryDirectory()
        model = directory.appendingPathComponent("model.onnx").path
        try Data("not really onnx".utf8).write(to: URL(fileURLWithPath: model))
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private let noDaemon = ["--socket", "/nonexistent/rkd.sock", "--no-autostart"]

    /// A .npy file as numpy.save writes it (format 1.0, C order) with `descriptor` elements.
    private func writeNPY(_ name: String, descriptor: String, shape: [Int], bytes: [UInt8]) throws -> String {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data(
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        )
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: bytes)
        try data.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    @Test func missingModel() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await run(["inspect", path("missing.onnx")] + noDaemon)
        #expect(result.status == 5)
        #expect(result.standardError == "rkdctl: model \(path("missing.onnx")) does not exist\n")
    }

    @Test func modelIsADirectory() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await run(["inspect", directory.path] + noDaemon)
        #expect(result.status == 6)
        #expect(result.standardError == "rkdctl: model \(directory.path) is a directory, not a file\n")
    }

    @Test func missingInput() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await run(["predict", model, "--input", path("x.npy"), "--output", path("o.npy")] + noDaemon)
        #expect(result.status == 5)
        #expect(result.standardError == "rkdctl: input \(path("x.npy")) does not exist\n")
    }

    @Test func inputIsNotNPY() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await run(["predict", model, "--input", model, "--output", path("o.npy")] + noDaemon)
        #expect(result.status == 6)
        #expect(result.standardError.hasPrefix("rkdctl: input \(model) is not a readable .npy file: the magic string"))
    }

    @Test func integerInput() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeNPY("x.npy", descriptor: "|u1", shape: [2, 3], bytes: [0, 1, 2, 3, 4, 255])
        let result = try await run(["predict", model, "--input", input, "--output", path("o.npy")] + noDaemon)
        #expect(result.status == 6)
        #expect(result.standardError.contains("holds integers; predict takes float32 or float64 pixels in [0, 1]"))
    }

    @Test func labelsOfTheWrongLength() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeNPY("x.npy", descriptor: "<f4", shape: [2, 1], bytes: [UInt8](repeating: 0, count: 8))
        let labels = try writeNPY("y.npy", descriptor: "<i8", shape: [3], bytes: [UInt8](repeating: 0, count: 24))
        let result = try await run(
            ["predict", model, "--input", input, "--labels", labels, "--output", path("o.npy")] + noDaemon
        )
        #expect(result.status == 6)
        #expect(
            result.standardError
                == "rkdctl: labels \(labels) have shape [3]; the input has 2 rows, so they need shape [2]\n"
        )
    }

    @Test func outputDirectoryMissing() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeNPY("x.npy", descriptor: "<f4", shape: [1, 1], bytes: [0, 0, 0, 0])
        let output = path("no/such/dir/o.npy")
        let result = try await run(["predict", model, "--input", input, "--output", output] + noDaemon)
        #expect(result.status == 5)
        #expect(result.standardError.contains("cannot write \(output): the directory"))
    }

    /// With good files, the next thing that fails is the connection.
    @Test func goodFilesReachTheDaemon() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeNPY("x.npy", descriptor: "<f4", shape: [1, 1], bytes: [0, 0, 0, 0])
        let result = try await run(["predict", model, "--input", input, "--output", path("o.npy")] + noDaemon)
        #expect(result.status == 3)
        #expect(!FileManager.default.fileExists(atPath: path("o.npy")))
    }
}
