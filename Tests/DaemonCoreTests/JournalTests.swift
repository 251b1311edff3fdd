import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import Jobs
import Testing

/// A datagram socket standing in for journald's native socket, /run/systemd/journal/socket. It is
/// bound in a directory of the test's; the daemon sees that directory at /run/systemd/journal.
final class JournalListener: @unchecked Sendable {
    let directory: URL
    let fd: Int32

    init(directory: URL) throws {
        self.directory = directory
        let path = directory.appendingPathComponent("socket").path
        fd = try bindDatagramSocket(path)
    }

    /// The entries received within `seconds`, or until one satisfies `stop`.
    func receive(seconds: Double, until stop: ([String: String]) -> Bool = { _ in false }) throws -> [[String: String]]
    {
        var entries: [[String: String]] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let entry = try Self.parse(buffer[0..<n])
            entries.append(entry)
            if stop(entry) { break }
        }
        return entries
    }

    /// One datagram of journald's native protocol (systemd's JOURNAL_NATIVE_PROTOCOL): fields
    /// `NAME=value\n`, or, for values that may hold newlines, `NAME\n`, the value's length as a
    /// little-endian 64-bit integer, the value and `\n`.
    static func parse(_ datagram: ArraySlice<UInt8>) throws -> [String: String] {
        var fields: [String: String] = [:]
        var index = datagram.startIndex
        while index < datagram.endIndex {
            guard
                let end = datagram[index...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") })
            else { throw DaemonHarnessError("a journal field without '=' or newline: \(Array(datagram))") }
            let name = String(decoding: datagram[index..<end], as: UTF8.self)
            if datagram[end] == UInt8(ascii: "=") {
                let valueEnd = datagram[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) ?? datagram.endIndex
                fields[name] = String(decoding: datagram[(end + 1)..<valueEnd], as: UTF8.self)
                index = valueEnd + 1
            } else {
                let lengthStart = end + 1
                guard lengthStart + 8 <= datagram.endIndex else { throw DaemonHarnessError("truncated length") }
                let length = datagram[lengthStart..<(lengthStart + 8)].reversed()
                    .reduce(0) { ($0 << 8) | Int($1) }
                let valueStart = lengthStart + 8
                guard valueStart + length < datagram.endIndex, datagram[valueStart + length] == UInt8(ascii: "\n")
                else { throw DaemonHarnessError("a binary journal field of bad length \(length)") }
                fields[name] = String(decoding: datagram[valueStart..<(valueStart + length)], as: UTF8.self)
                index = valueStart + length + 1
            }
        }
        return fields
    }

    deinit { close(fd) }
}

/// An rkdd whose /run is a private tmpfs (its own mount namespace, `unshare --mount`) in which
/// /run/systemd/journal is a bind mount of the listener's directory: libsystemd's sd_journal_sendv
/// then writes to the test's socket, and a journald on the machine, if any, sees nothing.
final class JournalDaemon: @unchecked Sendable {
    let directory: URL
    let socketPath: String
    let stateDirectory: URL
    let journal: JournalListener
    let notify: NotifyListener
    let log: URL
    let process = Process()

    /// - Parameter journalStream: `JOURNAL_STREAM`; `stderr` for the device and inode of the daemon's
    ///   stderr (what systemd sets when stderr is the journal), nil to leave it unset.
    /// - Parameter executable: the built product to run: `rkdd`, or the fixture `rkdd-testjobs`
    ///   (the same daemon with a countdown executor for audit jobs).
    init(journalStream: JournalStream, executable: String = "rkdd") throws {
        directory = try AccessSupport.sharedDirectory("rkd-jrnl")
        socketPath = directory.appendingPathComponent("rkd.sock").path
        // A newline in a metadata value: the "rkdd starting" entry carries this path.
        stateDirectory = directory.appendingPathComponent("state\nsecond line")
        let journalDirectory = directory.appendingPathComponent("journal")
        try FileManager.default.createDirectory(at: journalDirectory, withIntermediateDirectories: false)
        journal = try JournalListener(directory: journalDirectory)
        notify = try NotifyListener(directory: directory)
        log = directory.appendingPathComponent("rkdd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["RKD_THREADS"] = "1"
        switch journalStream {
        case .unset:
            environment["JOURNAL_STREAM"] = nil
        case .stderr, .otherFile:
            // st_dev and st_ino, through Foundation (the glibc struct clashes under MemberImportVisibility).
            let attributes = try FileManager.default.attributesOfItem(atPath: log.path)
            let device = try #require((attributes[.systemNumber] as? NSNumber)?.uint64Value)
            let inode = try #require((attributes[.systemFileNumber] as? NSNumber)?.uint64Value)
            // Another file's inode on the same device: the variable is inherited, not about stderr.
            environment["JOURNAL_STREAM"] = "\(device):\(journalStream == .stderr ? inode : inode + 1)"
        }
        process.environment = environment
        process.executableURL = URL(fileURLWithPath: try #require(AccessSupport.tool("unshare")))
        let script = """
            mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd/journal \
            && mount --bind "$1" /run/systemd/journal && shift && exec "$@"
            """
        process.arguments = [
            "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", journalDirectory.path,
            try productsDirectory().appendingPathComponent(executable).path,
            "--socket", socketPath, "--state-directory", stateDirectory.path,
        ]
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        guard notify.wait(for: "READY=1", seconds: 30) != nil else {
            process.terminate()
            throw DaemonHarnessError("rkdd did not become ready: \(logText)")
        }
    }

    enum JournalStream { case unset, stderr, otherFile }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Uploads `bytes` as the only chunk; returns the digest the daemon reports.
    func upload(_ bytes: Data) async throws -> String {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        ) { grpc in
            let client = Rkd_V1_Daemon.Client(wrapping: grpc)
            return try await client.uploadModel(
                requestProducer: { writer in
                    var part = Rkd_V1_UploadModelRequest()
                    part.chunk = bytes
                    try await writer.write(part)
                }
            ).digest
        }
    }

    /// Runs `body` with a client of the daemon.
    func withClient<R: Sendable>(
        _ body: (Rkd_V1_Daemon.Client<HTTP2ClientTransport.Posix>) async throws -> R
    ) async throws -> R {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        ) { grpc in try await body(Rkd_V1_Daemon.Client(wrapping: grpc)) }
    }

    /// SIGTERM (unshare and sh exec rkdd, so this is rkdd's pid), then waits; returns the exit status.
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Issue 4's logging: to the journal with structured fields when JOURNAL_STREAM names the daemon's
/// stderr, else `<N>`-prefixed lines on stderr. The daemon's journal socket is the test's.
@Suite(
    "rkdd logs to the journal natively only when its stderr is the journal",
    .serialized,
    .enabled(if: AccessSupport.canUnshareMounts, "needs root, unshare and mount (util-linux) for a private /run")
)
struct JournalTests {
    /// An upload logs "model uploaded" as one journal entry with MESSAGE, PRIORITY,
    /// SYSLOG_IDENTIFIER and the metadata as fields (MODEL_DIGEST, CALLER_UID); a value with a
    /// newline arrives whole; nothing of it goes to stderr.
    @Test func structuredEntriesWhenStderrIsTheJournal() async throws {
        let daemon = try JournalDaemon(journalStream: .stderr)
        let model = try testData("pytorch-converted/test_Linear/model.onnx")
        let digest = try await daemon.upload(model)
        #expect(digest == SHA256.hash(model).hex)

        let entries = try daemon.journal.receive(seconds: 10) { $0["MODEL_DIGEST"] != nil }
        let uploaded = try #require(entries.first { $0["MODEL_DIGEST"] != nil }, "entries: \(entries)")
        #expect(uploaded["MESSAGE"] == "model uploaded")
        #expect(uploaded["PRIORITY"] == "6")
        #expect(uploaded["SYSLOG_IDENTIFIER"] == "rkdd")
        #expect(uploaded["MODEL_DIGEST"] == digest)
        #expect(uploaded["MODEL_SIZE"] == "\(model.count)")
        #expect(uploaded["CALLER_UID"] == "0")

        // Logged at start-up, before the upload; its STATE holds a newline (the binary field form).
        let starting = try #require(entries.first { $0["MESSAGE"] == "rkdd starting" }, "entries: \(entries)")
        #expect(starting["STATE"] == daemon.stateDirectory.path)
        #expect(starting["PRIORITY"] == "6" && starting["MODE"] == "system")

        #expect(daemon.stop() == 0)
        #expect(!daemon.logText.contains("model uploaded"), "stderr: \(daemon.logText)")
        #expect(!daemon.logText.contains("rkdd starting"), "stderr: \(daemon.logText)")
    }

    /// A job's log entries carry JOB_ID (and its attempt) as journal fields: the job runner's
    /// "job started" and "job succeeded", from the fixture daemon's countdown audit.
    @Test func jobEntriesCarryTheJobID() async throws {
        let daemon = try JournalDaemon(journalStream: .stderr, executable: "rkdd-testjobs")
        let job = try await daemon.withClient { client in
            let digest = try await uploadSmallModel(client).digest
            let job = try await submitCountdown(client, digest: digest, steps: 3)
            _ = try await waitForJob(client, job.id) { $0.state == .succeeded }
            return job
        }
        let entries = try daemon.journal.receive(seconds: 10) { $0["MESSAGE"] == "job succeeded" }
        let started = try #require(entries.first { $0["MESSAGE"] == "job started" }, "entries: \(entries)")
        #expect(started["JOB_ID"] == job.id)
        #expect(started["JOB_ATTEMPT"] == "1")
        let succeeded = try #require(entries.first { $0["MESSAGE"] == "job succeeded" }, "entries: \(entries)")
        #expect(succeeded["JOB_ID"] == job.id)
        #expect(daemon.stop() == 0)
        #expect(!daemon.logText.contains("rkdd starting"), "stderr: \(daemon.logText)")
    }

    /// Without JOURNAL_STREAM, or with one that names another file, the journal socket gets nothing
    /// and each entry is one `<6>` line on stderr with the metadata as key=value.
    @Test(arguments: [JournalDaemon.JournalStream.unset, .otherFile])
    func stderrLinesOtherwise(journalStream: JournalDaemon.JournalStream) async throws {
        let daemon = try JournalDaemon(journalStream: journalStream)
        let model = try testData("pytorch-converted/test_Linear/model.onnx")
        let digest = try await daemon.upload(model)
        // The handler logs before the call returns: anything sent would be queued by now.
        #expect(try daemon.journal.receive(seconds: 1).isEmpty)
        #expect(daemon.stop() == 0)

        let lines = daemon.logText.split(separator: "\n").map(String.init)
        let uploaded = try #require(lines.first { $0.hasPrefix("<6>model uploaded") }, "stderr: \(lines)")
        #expect(uploaded.contains("model.digest=\(digest)"))
        #expect(uploaded.contains("caller.uid=0"))
        let starting = try #require(lines.first { $0.hasPrefix("<6>rkdd starting") }, "stderr: \(lines)")
        #expect(starting.contains("state=\(daemon.directory.path)/state second line"), "\(starting)")
        // Every line carries a priority prefix: a newline inside a value must not start a bare line.
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "stderr: \(lines)")
    }
}
