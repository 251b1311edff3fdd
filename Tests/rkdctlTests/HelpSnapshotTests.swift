import Foundation
import Testing

/// `--help` of every command, compared with Snapshots/<command>.txt. Set RKD_UPDATE_SNAPSHOTS=1 to
/// rewrite the snapshots from the current binary (then review the diff).
@Suite("rkdctl --help snapshots")
struct HelpSnapshotTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots")

    static let commands: [[String]] = [
        [], ["audit"], ["report"], ["inspect"], ["predict"], ["jobs"], ["jobs", "list"], ["jobs", "show"],
        ["jobs", "watch"],
        ["jobs", "cancel"], ["jobs", "download"], ["harden"], ["version"], ["teacher"], ["teacher", "train"],
        ["teacher", "list"],
        ["teacher", "show"], ["teacher", "import"], ["teacher", "export"], ["teacher", "remove"],
    ]

    @Test(arguments: commands)
    func help(_ command: [String]) async throws {
        let result = try await run(command + ["--help"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let file = Self.snapshots.appendingPathComponent((["rkdctl"] + command).joined(separator: "-") + ".txt")
        if ProcessInfo.processInfo.environment["RKD_UPDATE_SNAPSHOTS"] == "1" {
            try result.standardOutput.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try #require(
            try? String(contentsOf: file, encoding: .utf8),
            "no snapshot \(file.lastPathComponent); run the tests with RKD_UPDATE_SNAPSHOTS=1 to write it"
        )
        #expect(result.standardOutput == expected, "rkdctl \(command.joined(separator: " ")) --help changed")
    }

    /// The top-level help documents every exit status, 0 to 8.
    @Test func helpDocumentsExitStatuses() async throws {
        let help = try await run(["--help"]).standardOutput
        for status in 0...8 {
            #expect(help.contains("\n  \(status)  "), "exit status \(status) is not documented in --help")
        }
    }
}
