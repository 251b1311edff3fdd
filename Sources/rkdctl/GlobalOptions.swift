import ArgumentParser
import Foundation

/// The options every subcommand takes: which daemon to talk to.
struct GlobalOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The daemon's Unix socket. Default: $RKD_SOCKET, else /run/rkd/rkd.sock, else a per-user rkdd.",
            valueName: "path"
        )
    )
    var socket: String?

    @Flag(help: "Do not start a per-user rkdd when no daemon answers.")
    var noAutostart = false

    /// The daemon to talk to, found (or started) as `DaemonEndpoint.resolve` describes.
    func daemon() async throws -> DaemonConnection {
        let endpoint = try await DaemonEndpoint.resolve(
            socket: socket,
            autostart: !noAutostart,
            environment: ProcessInfo.processInfo.environment
        )
        return DaemonConnection(socket: endpoint.socket)
    }
}
