import Foundation

/// One stored event of a job: what `WatchJob` replays. `seq` counts 1, 2, 3, … per job, with no gaps.
public struct JobEvent: Hashable, Sendable {
    /// The job.
    public var jobID: String
    /// The event's position in the job's history, from 1.
    public var seq: Int64
    /// When it happened.
    public var time: Date
    /// What happened.
    public var payload: Payload

    /// What happened.
    public enum Payload: Codable, Hashable, Sendable {
        /// The job changed state.
        case stateChange(StateChange)
        /// The job made progress.
        case progress(JobProgress)
        /// The job logged a line.
        case log(LogLine)

        /// The value of the store's `kind` column.
        var kind: String {
            switch self {
            case .stateChange: "state"
            case .progress: "progress"
            case .log: "log"
            }
        }
    }

    /// A change of state.
    public struct StateChange: Codable, Hashable, Sendable {
        /// The state before; `nil` for the job's creation.
        public var from: JobState?
        /// The state after.
        public var to: JobState
        /// The attempt counter after the change.
        public var attempt: Int
        /// Why, for people.
        public var reason: String
        /// Set when the new state is `failed`.
        public var failure: JobFailure?

        /// Creates a state change.
        public init(from: JobState?, to: JobState, attempt: Int, reason: String, failure: JobFailure? = nil) {
            self.from = from
            self.to = to
            self.attempt = attempt
            self.reason = reason
            self.failure = failure
        }
    }

    /// A line of a job's log.
    public struct LogLine: Codable, Hashable, Sendable {
        /// How serious a line is.
        public enum Level: String, Codable, Sendable, CaseIterable {
            /// Detail for debugging.
            case debug
            /// Normal progress.
            case info
            /// Something the owner should know.
            case warning
            /// Something failed.
            case error
        }

        /// How serious it is.
        public var level: Level
        /// The text, without a trailing newline.
        public var message: String

        /// Creates a log line.
        public init(level: Level, message: String) {
            self.level = level
            self.message = message
        }
    }
}
