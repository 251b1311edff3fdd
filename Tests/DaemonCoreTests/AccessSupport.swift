import Foundation
import Glibc
import Jobs
import Testing

/// Helpers for the tests that run clients as another user (AccessControlTests) or the daemon in its
/// own mount namespace (JournalTests): both need root and util-linux.
enum AccessSupport {
    /// `nobody` and `nogroup` on Debian.
    static let nobody: UInt32 = 65534

    static var isRoot: Bool { geteuid() == 0 }

    /// The absolute path of a system tool, or nil.
    static func tool(_ name: String) -> String? {
        ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Root, with setpriv to drop to uid 65534 for a client.
    static var canSwitchUsers: Bool { isRoot && tool("setpriv") != nil }

    /// Root, with unshare and mount to give the daemon a private /run.
    static var canUnshareMounts: Bool { isRoot && tool("unshare") != nil && tool("mount") != nil }

    /// A fresh directory under /tmp (short: a Unix socket path must fit in 108 bytes), mode 0755 so
    /// that uid 65534 may enter it whatever the umask: it holds the daemon's socket and the copied
    /// rkdctl. The daemon's state directory inside it stays 0700, root's.
    static func sharedDirectory(_ prefix: String) throws -> URL {
        let directory = URL(fileURLWithPath: "/tmp/\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        guard chmod(directory.path, 0o755) == 0 else { throw DaemonHarnessError("chmod \(directory.path): \(errno)") }
        return directory
    }

    /// A copy of the built rkdctl in `directory`, mode 0755: the build tree may sit in a home
    /// directory that uid 65534 cannot enter.
    static func installRkdctl(in directory: URL) throws -> String {
        let source = try productsDirectory().appendingPathComponent("rkdctl")
        let target = directory.appendingPathComponent("rkdctl")
        try FileManager.default.copyItem(at: source, to: target)
        guard chmod(target.path, 0o755) == 0 else { throw DaemonHarnessError("chmod \(target.path): \(errno)") }
        return target.path
    }

    /// A job spec the job store accepts and the fixture daemon (rkdd-testjobs, which has an executor for
    /// audits only) leaves queued: a hardening job. rkdd itself would run it.
    static let queuedSpec = JobSpec.harden(
        HardenSpec(
            teacher: "teacher",
            finiteDifferenceStep: 0.01,
            data: DatasetSelection(name: "fashion-mnist", split: .train),
            schedule: TrainingSchedule(
                epochs: 1,
                batchSize: 8,
                learningRate: 0.01,
                momentum: 0.9,
                weightDecay: 0,
                seed: 1,
                checkpointEvery: 10
            ),
            audit: AuditSpec(
                attacks: [AttackSettings(.pgd)],
                norm: .linf,
                epsilons: [0.1],
                data: DatasetSelection(name: "fashion-mnist", split: .test),
                numExamples: 10,
                batchSize: 10,
                seed: 1
            )
        )
    )

    /// What a command printed and how it ended.
    struct Result: Sendable, CustomStringConvertible {
        let status: Int32
        let standardOutput: String
        let standardError: String

        var description: String { "status \(status)\nstdout: \(standardOutput)\nstderr: \(standardError)" }
    }

    /// Runs `executable` with `arguments`, as uid/gid 65534 with no supplementary groups when
    /// `asNobody`, in a small clean environment, for at most `timeout` seconds. Async, so that the
    /// test's own gRPC clients keep their threads while it runs.
    static func run(
        _ executable: String,
        _ arguments: [String],
        asNobody: Bool,
        environment: [String: String] = [:],
        timeout: Double = 30
    ) async throws -> Result {
        let process = Process()
        if asNobody {
            let setpriv = try #require(tool("setpriv"), "setpriv (util-linux) is missing")
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments =
                ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"]
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = URL(fileURLWithPath: "/tmp/rkd-access-run-\(UUID().uuidString)")
        let out = output.appendingPathExtension("out")
        let err = output.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            Issue.record("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let read = { (url: URL) in
            String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
        }
        return Result(status: process.terminationStatus, standardOutput: read(out), standardError: read(err))
    }
}
