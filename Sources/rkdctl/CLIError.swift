/// A failure rkdctl reports to its user: what went wrong and what to do about it, with the exit status.
struct CLIError: Error, CustomStringConvertible, Sendable {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}
