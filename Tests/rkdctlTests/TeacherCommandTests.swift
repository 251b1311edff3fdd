import Foundation
import Testing

/// `rkdctl teacher` against the built rkdd: import (with its refusals), list, show, export, remove.
@Suite("rkdctl teacher", .serialized)
struct TeacherCommandTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/models/fmnist-smallcnn.onnx").path

    @Test func importListShowExportRemove() async throws {
        let daemon = try await RealDaemon()
        defer { daemon.stop() }
        func rkdctl(_ arguments: [String]) async throws -> CommandResult {
            try await run(arguments + ["--socket", daemon.socket])
        }
        let common = ["teacher", "import", Self.sample, "--name", "sample", "--data", "fashion-mnist"]

        // Without a threat model: a usage error before anything is sent.
        let noThreat = try await rkdctl(common + ["--input-shape", "1,28,28"])
        #expect(noThreat.status == 2, "\(noThreat.standardError)")
        #expect(noThreat.standardError.contains("--norm"))
        // A shape the model does not take: the daemon refuses it (invalid input, exit 6).
        let wrongShape = try await rkdctl(common + ["--input-shape", "3,32,32", "--norm", "linf", "--eps", "0.1"])
        #expect(wrongShape.status == 6, "\(wrongShape.standardError)")
        #expect(wrongShape.standardError.contains("input shape"))

        let imported = try await rkdctl(common + ["--input-shape", "1,28,28", "--norm", "linf", "--eps", "0.1"])
        #expect(imported.status == 0, "\(imported.standardError)")
        #expect(imported.standardOutput.hasPrefix("teacher 'sample' imported"))

        let list = try await rkdctl(["teacher", "list", "--json"])
        #expect(list.status == 0, "\(list.standardError)")
        let teachers = try #require(
            try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]]
        )
        #expect(teachers.count == 1)
        #expect(teachers.first?["name"] as? String == "sample" && teachers.first?["source"] as? String == "imported")
        #expect(
            teachers.first?["norm"] as? String == "linf" && teachers.first?["input_shape"] as? [Int] == [1, 28, 28]
        )
        #expect((teachers.first?["class_names"] as? [String])?.first == "T-shirt/top")

        let show = try await rkdctl(["teacher", "show", "sample"])
        #expect(
            show.status == 0 && show.standardOutput.contains("threat model:")
                && show.standardOutput.contains("L∞ ε=0.1")
        )
        #expect(try await rkdctl(["teacher", "show", "nobody"]).status == 5)

        let output = daemon.directory.appendingPathComponent("exported.onnx").path
        let manifest = daemon.directory.appendingPathComponent("manifest.json").path
        let exported = try await rkdctl(["teacher", "export", "sample", "-o", output, "--manifest", manifest])
        #expect(exported.status == 0, "\(exported.standardError)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: output)) == Data(contentsOf: URL(fileURLWithPath: Self.sample))
        )
        let stored = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any]
        )
        #expect(stored["sha256"] as? String == (teachers.first?["model_digest"] as? String))

        let again = try await rkdctl(common + ["--input-shape", "1,28,28", "--norm", "linf", "--eps", "0.1"])
        #expect(again.status == 1 && again.standardError.contains("already"), "\(again.status) \(again.standardError)")

        #expect(try await rkdctl(["teacher", "remove", "sample"]).status == 0)
        #expect(try await rkdctl(["teacher", "remove", "sample"]).status == 5)
        let empty = try await rkdctl(["teacher", "list"])
        #expect(empty.standardOutput.hasPrefix("no teachers stored"))
    }
}
