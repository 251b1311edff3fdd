import ArgumentParser
import DaemonAPI

/// `rkdctl version`: this client's version and the daemon's (GetVersion).
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print rkdctl's version and the daemon's.",
        discussion: """
            The daemon's part comes from GetVersion: its version, the API it serves, the source revision \
            and Swift compiler it was built with, and the number of threads it computes with.
            """
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    struct Output: Encodable {
        struct Client: Encodable {
            var version: String
        }

        struct Daemon: Encodable {
            var version: String
            var apiVersion: String
            var commit: String
            var swiftVersion: String
            var threads: UInt32
            var socket: String
        }

        var client: Client
        var daemon: Daemon
    }

    func run() async throws {
        if !json { printLine("rkdctl \(RKDCtl.version)") }
        let daemon = try await global.daemon()
        let answer = try await daemon.run { client in
            try await client.getVersion(Rkd_V1_GetVersionRequest())
        }
        if json {
            try JSONOutput.print(
                Output(
                    client: .init(version: RKDCtl.version),
                    daemon: .init(
                        version: answer.version,
                        apiVersion: answer.apiVersion,
                        commit: answer.commit,
                        swiftVersion: answer.swiftVersion,
                        threads: answer.threads,
                        socket: daemon.socket
                    )
                )
            )
        } else {
            var details = ["api \(answer.apiVersion)"]
            if !answer.commit.isEmpty { details.append("commit \(answer.commit)") }
            if !answer.swiftVersion.isEmpty { details.append("Swift \(answer.swiftVersion)") }
            details.append("\(answer.threads) thread\(answer.threads == 1 ? "" : "s")")
            printLine("rkdd   \(answer.version) (\(details.joined(separator: ", "))) at \(daemon.socket)")
        }
    }
}
