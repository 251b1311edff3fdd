import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import Synchronization
import Testing

/// The repository root (Tests/DaemonCoreTests/DaemonHarness.swift → ../../..).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built products' directory: the test bundle sits beside rkdd (and the fixture rkdd-testjobs).
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

/// A Unix datagram socket bound at `path` whose reads time out after 100 ms.
func bindDatagramSocket(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonHarnessError("socket: errno \(errno)") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0 else {
        let error = errno
        close(fd)
        throw DaemonHarnessError("bind \(path): errno \(error)")
    }
    var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

/// A datagram socket standing in for systemd's notify socket. Like systemd, it reads every datagram
/// as it arrives (a background thread keeps them), so the daemon never blocks on a full socket queue.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32
    private let received: ReceivedDatagrams
    private var cursor = 0

    /// The datagrams read so far, and whether the reader should stop.
    final class ReceivedDatagrams: Sendable {
        private let state = Mutex<(messages: [String], stopped: Bool)>(([], false))

        func append(_ message: String) { state.withLock { $0.messages.append(message) } }
        func messages(from index: Int) -> [String] { state.withLock { Array($0.messages.dropFirst(index)) } }
        func stop() { state.withLock { $0.stopped = true } }
        var isStopped: Bool { state.withLock { $0.stopped } }
    }

    init(directory: URL) throws {
        let received = ReceivedDatagrams()
        self.received = received
        path = directory.appendingPathComponent("notify.sock").path
        // A daemon restarted on the same directory gets a new listener in place of the old one's socket.
        unlink(path)
        fd = try bindDatagramSocket(path)
        let socketFD = fd
        DispatchQueue(label: "notify-listener").async {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !received.isStopped {
                let n = recv(socketFD, &buffer, buffer.count, 0)
                if n > 0 { received.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            }
            close(socketFD)
        }
    }

    /// Datagrams not returned before, until one contains `needle`, or nil after `seconds`.
    func wait(for needle: String, seconds: Double) -> [String]? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let fresh = received.messages(from: cursor)
            if let index = fresh.firstIndex(where: { $0.contains(needle) }) {
                cursor += index + 1
                return Array(fresh[...index])
            }
            usleep(20_000)
        } while Date() < deadline
        cursor += received.messages(from: cursor).count
        return nil
    }

    deinit { received.stop() }
}

/// An rkdd child process on a temporary socket and state directory.
///
/// `executable` picks the binary: `rkdd`, or the test fixture `rkdd-testjobs` (rkdd with a countdown
/// executor for audit jobs). Passing a `directory` reuses its socket path and state directory, so a
/// daemon can be restarted on the state a previous one left; the caller then owns the directory (see
/// ``TemporaryDaemonDirectory``), otherwise the process deletes its own when it goes away.
final class DaemonProcess: @unchecked Sendable {
    let directory: URL
    let socketPath: String
    let stateDirectory: URL
    let process = Process()
    let notify: NotifyListener
    let log: URL
    private let ownsDirectory: Bool

    init(
        executable: String = "rkdd",
        settings: [String: Any] = [:],
        directory: URL? = nil,
        extraEnvironment: [String: String] = [:]
    ) throws {
        ownsDirectory = directory == nil
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
        process.executableURL = try productsDirectory().appendingPathComponent(executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["RKD_THREADS"] = "1"
        for (key, value) in extraEnvironment { environment[key] = value }
        process.environment = environment
        // Appended to, so that the log of a restarted daemon follows its predecessor's.
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        handle.write(Data("---- \(executable) starting\n".utf8))
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        guard notify.wait(for: "READY=1", seconds: 30) != nil else {
            process.terminate()
            throw DaemonHarnessError("\(executable) did not become ready: \(logText)")
        }
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits; returns the exit status.
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then waits at most `seconds` for the exit; `nil` (after a SIGKILL) when it did not exit
    /// in time.
    func stop(within seconds: Double) -> Int32? {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill()
            return nil
        }
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
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}

/// A directory for daemons that are restarted on the same state; deleted by `remove()`.
struct TemporaryDaemonDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rkdd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The bytes of a libonnx-testdata file.
func testData(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: "/usr/share/libonnx-testdata/data/" + path))
}

/// The sample classifier shipped in samples/models/ (SmallCNN on Fashion-MNIST, 89.9 % test accuracy).
func sampleModel() throws -> Data {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/models/fmnist-smallcnn.onnx")
    return try Data(contentsOf: url)
}
