import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import Testing

/// The repository root (Tests/DaemonCoreTests/DaemonHarness.swift → ../../..).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built products' directory: the test bundle sits beside rkdd.
func productsDirectory() throws -> URL {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("rkdd").path) { return url }
    }
    throw DaemonHarnessError("rkdd is not built next to the tests; run `swift build --build-tests` first")
}

struct DaemonHarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A datagram socket standing in for systemd's notify socket.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32

    init(directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw DaemonHarnessError("bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Datagrams until one contains `needle`, or nil after `seconds`.
    func wait(for needle: String, seconds: Double) -> [String]? {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                let message = String(decoding: buffer[0..<n], as: UTF8.self)
                seen.append(message)
                if message.contains(needle) { return seen }
            }
        }
        return nil
    }

    deinit { close(fd) }
}

/// An rkdd child process on a temporary socket and state directory.
final class DaemonProcess: @unchecked Sendable {
    let directory: URL
    let socketPath: String
    let stateDirectory: URL
    let process = Process()
    let notify: NotifyListener
    let log: URL

    init(settings: [String: Any] = [:], directory: URL? = nil, extraEnvironment: [String: String] = [:]) throws {
        let directory =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("rkdd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        socketPath = directory.appendingPathComponent("rkd.sock").path
        stateDirectory = directory.appendingPathComponent("state")
        notify = try NotifyListener(directory: directory)
        log = directory.appendingPathComponent("rkdd.log")
        var arguments = ["--socket", socketPath, "--state-directory", stateDirectory.path]
        if !settings.isEmpty {
            let config = directory.appendingPathComponent("rkdd.conf")
            try JSONSerialization.data(withJSONObject: settings).write(to: config)
            arguments += ["--config", config.path]
        }
        process.executableURL = try productsDirectory().appendingPathComponent("rkdd")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["RKD_THREADS"] = "1"
        for (key, value) in extraEnvironment { environment[key] = value }
        process.environment = environment
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        guard notify.wait(for: "READY=1", seconds: 30) != nil else {
            process.terminate()
            throw DaemonHarnessError("rkdd did not become ready: \(logText)")
        }
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits; returns the exit status.
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL, then waits.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs `body` with a client of this daemon.
    func withClient<T: Sendable>(
        _ body: (Rkd_V1_Daemon.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        ) { grpc in
            try await body(Rkd_V1_Daemon.Client(wrapping: grpc))
        }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The bytes of a libonnx-testdata file.
func testData(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: "/usr/share/libonnx-testdata/data/" + path))
}
