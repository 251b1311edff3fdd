import Foundation
import Glibc
import Testing

/// No daemon: exit status 3 and a message that says how to start one.
@Suite("rkdctl without a daemon")
struct UnreachableDaemonTests {
    static let hint = "start it with `rkdd --user` or `systemctl start rkdd.socket`"

    @Test(arguments: [["version"], ["jobs", "list"], ["jobs", "show", "0"], ["jobs", "cancel", "0"]])
    func noSocketFile(_ command: [String]) async throws {
        let result = try await run(command + ["--socket", "/nonexistent/rkd.sock", "--no-autostart"])
        #expect(result.status == 3)
        #expect(
            result.standardError == "rkdctl: rkdd is not running (no socket at /nonexistent/rkd.sock); \(Self.hint)\n"
        )
    }

    @Test func socketFromEnvironment() async throws {
        let result = try await run(["version", "--no-autostart"], environment: ["RKD_SOCKET": "/nonexistent/env.sock"])
        #expect(result.status == 3)
        #expect(result.standardError.contains("no socket at /nonexistent/env.sock"), "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("rkdctl 0."), "the client's version comes first")
    }

    /// A socket file nobody listens on (a daemon that died): connect(2) gives ECONNREFUSED.
    @Test func staleSocket() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("rkd.sock").path
        let descriptor = try bindWithoutListening(path)
        defer { close(descriptor) }
        let result = try await run(["jobs", "list", "--socket", path, "--no-autostart"])
        #expect(result.status == 3)
        #expect(result.standardError == "rkdctl: rkdd is not running (nothing listens on \(path)); \(Self.hint)\n")
    }

    /// Neither --socket nor RKD_SOCKET: the system socket, and with --no-autostart no per-user daemon.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/run/rkd/rkd.sock"), "a system rkdd is installed"))
    func systemSocketWithoutAutostart() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await run(
            ["version", "--no-autostart"],
            environment: ["XDG_RUNTIME_DIR": directory.path, "XDG_STATE_HOME": directory.path]
        )
        #expect(result.status == 3)
        #expect(
            result.standardError == "rkdctl: rkdd is not running (no socket at /run/rkd/rkd.sock); \(Self.hint)\n"
        )
        #expect(
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent("rkd").path),
            "--no-autostart must not prepare a per-user daemon"
        )
    }

    /// A Unix socket bound to `path` that never listens.
    private func bindWithoutListening(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind(\(path)) failed: errno \(errno)")
        return descriptor
    }
}
