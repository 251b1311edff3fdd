/// Why a job failed, as recorded with it: a stable code for programs and a message for people.
public struct JobFailure: Codable, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier in lower kebab case, e.g. `unsupported-operator`.
    public var code: String
    /// What went wrong and what to do about it.
    public var message: String

    /// Creates a failure.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The failure recorded when a job was interrupted by daemon restarts as often as allowed.
    public static func attemptsExhausted(attempts: Int) -> JobFailure {
        JobFailure(
            code: "attempts-exhausted",
            message: "the daemon stopped \(attempts) times while this job was running, so it is not "
                + "retried again; check the daemon's log for the cause (e.g. running out of memory) and "
                + "submit the job again"
        )
    }
}
