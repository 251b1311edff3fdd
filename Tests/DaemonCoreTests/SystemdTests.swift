// CoreFoundation: with MemberImportVisibility, depending on which other modules the test target
// imports, the compiler attributes glibc's `stat` members to CoreFoundation's re-export of Glibc.
import CoreFoundation
import Foundation
import Glibc
import Logging
import Testing

@testable import DaemonCore

/// A datagram socket standing in for systemd's notify socket.
private final class FakeNotifySocket {
    let path: String
    let fd: Int32

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-notify-\(UUID().uuidString)").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: Array(path.utf8) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind \(path): errno \(errno)")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

@Suite("systemd glue: notify, watchdog, socket activation, log lines", .serialized)
struct SystemdTests {
    @Test func notifyMessagesReachTheNotifySocket() throws {
        let fake = try FakeNotifySocket()
        setenv("NOTIFY_SOCKET", fake.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let notifier = SystemdNotifier()
        #expect(notifier.isEnabled)
        #expect(notifier.notify(.ready, .status("serving\non /run/rkd/rkd.sock")))
        #expect(fake.receive() == "READY=1\nSTATUS=serving on /run/rkd/rkd.sock")
        #expect(notifier.notify(.stopping, .extendTimeout(.seconds(30))))
        #expect(fake.receive() == "STOPPING=1\nEXTEND_TIMEOUT_USEC=30000000")
    }

    @Test func withoutAManagerNothingIsSent() {
        unsetenv("NOTIFY_SOCKET")
        let notifier = SystemdNotifier()
        #expect(!notifier.isEnabled)
        #expect(!notifier.notify(.ready))
    }

    @Test func watchdogIntervalIsHalfTheManagersTimeout() {
        setenv("WATCHDOG_USEC", "3000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        #expect(SystemdNotifier().watchdogInterval == .milliseconds(1500))
        // A watchdog meant for another process is not ours.
        setenv("WATCHDOG_PID", "\(getpid() + 1)", 1)
        #expect(SystemdNotifier().watchdogInterval == nil)
    }

    @Test func noInheritedSocketWithoutActivation() throws {
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_PID")
        #expect(try SocketActivation.inheritedListener() == nil)
    }

    @Test func journalFieldNamesAndLines() {
        #expect(SystemdLogHandler.fieldName("job.id") == "JOB_ID")
        #expect(SystemdLogHandler.fieldName("model.digest") == "MODEL_DIGEST")
        #expect(SystemdLogHandler.fieldName("_secret") == "SECRET")
        #expect(SystemdLogHandler.fieldName("3d") == "RKD_3D")
        let fields = SystemdLogHandler.journalFields(
            level: .warning,
            message: "job failed",
            metadata: ["model.digest": "ab12", "job.id": "7"],
            identifier: "rkdd"
        )
        #expect(
            fields == ["MESSAGE=job failed", "PRIORITY=4", "SYSLOG_IDENTIFIER=rkdd", "JOB_ID=7", "MODEL_DIGEST=ab12"]
        )
        #expect(
            SystemdLogHandler.stderrLine(level: .info, message: "two\nlines", metadata: ["job.id": "7"])
                == "<6>two lines job.id=7"
        )
    }

    @Test func journalIsUsedOnlyWhenStderrIsTheJournalStream() {
        setenv("JOURNAL_STREAM", "1:2", 1)
        #expect(!SystemdLogHandler.stderrIsJournal())
        var status = stat()
        fstat(STDERR_FILENO, &status)
        setenv("JOURNAL_STREAM", "\(status.st_dev):\(status.st_ino)", 1)
        #expect(SystemdLogHandler.stderrIsJournal())
        unsetenv("JOURNAL_STREAM")
        #expect(!SystemdLogHandler.stderrIsJournal())
    }
}
