/// rkdctl's exit statuses, as `rkdctl --help` and the README document them.
enum ExitStatus: Int32, Sendable {
    /// The command did what was asked.
    case success = 0
    /// The operation failed: a job failed or was cancelled, the model cannot run, or the daemon answered
    /// with a gRPC error that has no status of its own below.
    case failure = 1
    /// Bad flags or arguments (ArgumentParser's usage errors).
    case usage = 2
    /// No daemon answers on the socket.
    case unreachable = 3
    /// The socket or the daemon refused the caller.
    case permissionDenied = 4
    /// A job, a model or a local file does not exist.
    case notFound = 5
    /// The daemon refused a request field, or a local file is not what the command needs.
    case invalidInput = 6
    /// A limit of the daemon was hit: the upload size, the queue length.
    case resourceExhausted = 7
    /// `rkdctl audit --fail-under X`: the audit ran and some robust accuracy is below X.
    case auditFailed = 8
}
