import Jobs

/// The work of one job kind: an audit, a hardening run or a teacher training. ``JobRunner`` calls
/// ``run(_:)`` when it has taken a job of the kind from the queue; the daemon registers one executor
/// per ``JobKind`` (``Daemon/init(configuration:mode:logger:executors:)``).
///
/// Contract:
/// - Return normally once the results are written (``JobExecutionContext/writeArtifact(name:mediaType:_:)``):
///   the job succeeds.
/// - Throw ``JobExecutionFailure`` for a failure the owner should read (a stable code and a message
///   that says what to do); any other error fails the job with code `internal-error`.
/// - Call ``JobExecutionContext/checkStop()`` often (at least every few hundred milliseconds): it throws
///   ``JobStopRequest`` once the owner cancelled the job or the daemon is shutting down. Let that error
///   propagate. Before it does, save a checkpoint if the work done since the last one is worth keeping
///   (``JobExecutionContext/stopReason`` tells which: after a cancellation the checkpoint is deleted).
/// - Resume: ``JobExecutionContext/loadCheckpoint()`` returns what the last attempt saved, if anything;
///   a job that was interrupted (SIGTERM) or whose daemon died (`kill -9`, power loss) starts again
///   from it, on the next attempt.
public protocol JobExecutor: Sendable {
    /// Does the job's work; see the protocol's contract.
    func run(_ context: JobExecutionContext) async throws
}

/// A job failure an executor reports: recorded with the job (`Job.error`) as is.
public struct JobExecutionFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the store records.
    public var failure: JobFailure

    /// A failure with a stable lower-kebab-case `code` and a `message` that says what to do.
    public init(code: String, message: String) {
        failure = JobFailure(code: code, message: message)
    }

    public var description: String { failure.description }
}

/// Why a running job is asked to stop.
public enum JobStopReason: String, Hashable, Sendable {
    /// Its owner (or root) cancelled it: the job ends `cancelled` and its checkpoints are deleted.
    case cancelled
    /// The daemon is shutting down: the job ends `interrupted`, keeps its checkpoint and resumes from it
    /// after the next start.
    case shutdown
}

/// Thrown by ``JobExecutionContext/checkStop()`` once the job should stop; executors let it propagate.
public struct JobStopRequest: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why.
    public var reason: JobStopReason

    public var description: String {
        switch reason {
        case .cancelled: "the job was cancelled"
        case .shutdown: "rkdd is shutting down; the job resumes from its checkpoint after the next start"
        }
    }
}
