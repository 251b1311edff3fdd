import Foundation
import Glibc

/// The socket of the daemon rkdctl talks to, and how it was chosen.
struct DaemonEndpoint: Sendable, Equatable {
    enum Origin: Sendable, Equatable {
        /// `--socket`.
        case flag
        /// `$RKD_SOCKET`.
        case environment
        /// The system daemon, /run/rkd/rkd.sock.
        case system
        /// A per-user daemon that was already running.
        case user
        /// A per-user daemon rkdctl has just started.
        case started
    }

    /// The system daemon's socket (from rkdd.socket).
    static let systemSocket = "/run/rkd/rkd.sock"

    let socket: String
    let origin: Origin

    /// Chooses the daemon: `--socket`, else `$RKD_SOCKET` (either is used as given, without a fallback),
    /// else the system socket if something accepts connections there, else a per-user daemon at
    /// `$XDG_RUNTIME_DIR/rkd/rkd.sock`, started in the background unless `autostart` is false.
    ///
    /// - Throws: `CLIError` when the system socket refuses the caller (EACCES: exit 4), or when nothing
    ///   answers and no daemon may or could be started (exit 3).
    static func resolve(
        socket flag: String?,
        autostart: Bool,
        environment: [String: String]
    ) async throws
        -> DaemonEndpoint
    {
        if let flag, !flag.isEmpty { return DaemonEndpoint(socket: flag, origin: .flag) }
        if let variable = environment["RKD_SOCKET"], !variable.isEmpty {
            return DaemonEndpoint(socket: variable, origin: .environment)
        }
        let systemErrno: Int32
        switch SocketProbe.probe(systemSocket) {
        case .accepting:
            return DaemonEndpoint(socket: systemSocket, origin: .system)
        case .failed(let code) where code == ENOENT || code == ECONNREFUSED || code == ENOTDIR:
            systemErrno = code
        case .failed(let code):
            throw CLIError.unreachable(socket: systemSocket, errno: code)
        }
        let user = UserDaemonPaths(environment: environment)
        if SocketProbe.probe(user.socket) == .accepting {
            return DaemonEndpoint(socket: user.socket, origin: .user)
        }
        guard autostart else { throw CLIError.unreachable(socket: systemSocket, errno: systemErrno) }
        try await DaemonLauncher(paths: user, environment: environment).start()
        return DaemonEndpoint(socket: user.socket, origin: .started)
    }
}
