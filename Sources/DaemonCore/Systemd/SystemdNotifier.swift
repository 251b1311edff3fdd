import CSystemd
import Foundation

/// Tells systemd about the daemon's state (sd_notify(3)): `READY=1` once it serves, `STATUS=` with
/// the running job, `WATCHDOG=1` keep-alives, `STOPPING=1` on shutdown. Without `NOTIFY_SOCKET`
/// (not started by systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    /// One sd_notify state assignment.
    public enum Message: Sendable, Equatable {
        case ready
        case stopping
        case watchdog
        case status(String)
        case extendTimeout(Duration)

        var assignment: String {
            switch self {
            case .ready: "READY=1"
            case .stopping: "STOPPING=1"
            case .watchdog: "WATCHDOG=1"
            case .status(let text):
                // One line: systemctl status shows the first; newlines would start new assignments.
                "STATUS=" + text.split(whereSeparator: \.isNewline).joined(separator: " ")
            case .extendTimeout(let duration):
                "EXTEND_TIMEOUT_USEC=\(duration.microseconds)"
            }
        }
    }

    public init() {}

    /// Whether a service manager listens (`NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// Sends the messages as one datagram. Returns whether it was sent (false without a manager).
    @discardableResult
    public func notify(_ messages: Message...) -> Bool {
        notify(messages)
    }

    /// Sends the messages as one datagram. Returns whether it was sent (false without a manager).
    @discardableResult
    public func notify(_ messages: [Message]) -> Bool {
        let state = messages.map(\.assignment).joined(separator: "\n")
        return sd_notify(0, state) > 0
    }

    /// The interval at which to send `WATCHDOG=1`: half of `WATCHDOG_USEC` when the service manager
    /// set a watchdog for this process, `nil` otherwise.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }
}

extension Duration {
    /// The duration in whole microseconds (rounded down).
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
