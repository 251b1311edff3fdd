import Dispatch
import Synchronization

/// The daemon's `STATUS=` line for systemd, sent off the job's path: `sd_notify` blocks while the
/// notify socket's queue is full, so the text is handed to a serial queue and only the newest pending
/// text is sent. A slow or stuck service manager then delays status lines, never a job.
final class StatusLine: Sendable {
    private let notifier: SystemdNotifier
    private let pending = Mutex<(text: String?, sending: Bool)>((nil, false))
    private let queue = DispatchQueue(label: "rkdd.status")

    init(notifier: SystemdNotifier) { self.notifier = notifier }

    /// Replaces the status; returns at once.
    func set(_ text: String) {
        guard notifier.isEnabled else { return }
        let start = pending.withLock { state -> Bool in
            state.text = text
            if state.sending { return false }
            state.sending = true
            return true
        }
        guard start else { return }
        queue.async { self.drain() }
    }

    private func drain() {
        while let text = pending.withLock({ state -> String? in
            guard let text = state.text else {
                state.sending = false
                return nil
            }
            state.text = nil
            return text
        }) {
            notifier.notify(.status(text))
        }
    }
}
