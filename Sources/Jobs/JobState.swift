/// Where a job is in its life.
///
/// `queued → running → succeeded | failed | cancelled`, and `running → interrupted → queued` when the
/// daemon stops while the job runs. ``JobStateMachine`` holds the rules; the raw values are what the
/// store writes.
public enum JobState: String, Codable, Sendable, CaseIterable {
    /// Accepted, waiting for a compute slot.
    case queued
    /// Running now.
    case running
    /// Finished with its results stored.
    case succeeded
    /// Stopped by an error.
    case failed
    /// Stopped at its owner's request.
    case cancelled
    /// Was running when the daemon stopped; recovery queues it again or fails it.
    case interrupted

    /// Whether the state is final: no event leaves it.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: true
        case .queued, .running, .interrupted: false
        }
    }
}
