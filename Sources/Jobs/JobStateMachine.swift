/// The rules of a job's life, as a value: feed it an event, get back what the caller must do.
///
/// The machine does no I/O. ``JobStore`` applies each event inside a database transaction and persists
/// the new ``state``, ``attempt`` and ``cancelRequested``; the job runner performs the returned
/// ``Action`` (start the work, signal it to stop, queue the job again).
///
/// ```
/// queued ──start──▶ running ──finished(.succeeded)──▶ succeeded
///   │                 │  │ ───finished(.failed)─────▶ failed
///   │                 │  └─cancel, then finished(.cancelled)─▶ cancelled
///   └──cancel──▶ cancelled
///                     └─interrupt─▶ interrupted ──recover─▶ queued   (attempt < max)
///                                               └─recover─▶ failed   (attempt ≥ max)
/// ```
public struct JobStateMachine: Hashable, Sendable {
    /// The current state.
    public private(set) var state: JobState
    /// How many times the job has started running.
    public private(set) var attempt: Int
    /// Whether cancellation was asked for while the job was running.
    public private(set) var cancelRequested: Bool

    /// A machine in a given situation: `.queued`, attempt 0, for a new job; the stored values for one
    /// read back from the store.
    public init(state: JobState = .queued, attempt: Int = 0, cancelRequested: Bool = false) {
        self.state = state
        self.attempt = attempt
        self.cancelRequested = cancelRequested
    }

    /// How a job's work ended, as the runner reports it.
    public enum Outcome: Hashable, Sendable {
        /// The work completed and its results are stored.
        case succeeded
        /// The work stopped with an error.
        case failed(JobFailure)
        /// The work stopped because cancellation was requested.
        case cancelled
    }

    /// Something that happens to a job.
    public enum Event: Hashable, Sendable {
        /// A compute slot is free and the runner takes the job.
        case start
        /// The owner (or root) asks to stop the job.
        case cancel
        /// The job's work ended.
        case finished(Outcome)
        /// The daemon is stopping (or was found to have stopped) while the job was running.
        case interrupt
        /// The daemon starts again; an interrupted job is queued again unless it has already started
        /// `maxAttempts` times.
        case recover(maxAttempts: Int)
    }

    /// What the caller must do after an event.
    public enum Action: Hashable, Sendable {
        /// Nothing: the event changed nothing (e.g. cancelling a cancelled job).
        case none
        /// Run the job's work; `attempt` is 1 for the first run. Resume from a checkpoint if the job has one.
        case startWork(attempt: Int)
        /// Tell the running work to stop; it reports `.finished(.cancelled)` once it has.
        case stopWork
        /// The job reached a final state: record the finish time (and the failure, if any).
        case recordFinish(JobState, JobFailure?)
        /// The job waits for a compute slot again: put it back in the runner's queue.
        case enqueue
        /// The daemon is stopping with the job running: it stays interrupted until the daemon starts again.
        case awaitRecovery
    }

    /// Applies an event.
    /// - Returns: what the caller must do.
    /// - Throws: ``JobTransitionError`` when the event does not apply in the current state (the job is
    ///   unchanged then).
    public mutating func handle(_ event: Event) throws(JobTransitionError) -> Action {
        switch (state, event) {
        case (.queued, .start):
            state = .running
            attempt += 1
            cancelRequested = false
            return .startWork(attempt: attempt)

        case (.queued, .cancel), (.interrupted, .cancel):
            state = .cancelled
            return .recordFinish(.cancelled, nil)

        case (.running, .cancel):
            if cancelRequested { return .none }
            cancelRequested = true
            return .stopWork

        case (.cancelled, .cancel):
            return .none

        case (.running, .finished(let outcome)):
            switch outcome {
            case .succeeded:
                // The work completed before it noticed a cancellation request: keep the results.
                state = .succeeded
                return .recordFinish(.succeeded, nil)
            case .failed(let failure):
                state = .failed
                return .recordFinish(.failed, failure)
            case .cancelled:
                guard cancelRequested else {
                    throw JobTransitionError(
                        from: state,
                        event: event,
                        reason: "the work reported cancellation, but nobody asked to cancel the job"
                    )
                }
                state = .cancelled
                return .recordFinish(.cancelled, nil)
            }

        case (.running, .interrupt):
            if cancelRequested {
                // The owner asked to stop it: do not resume it after the restart.
                state = .cancelled
                return .recordFinish(.cancelled, nil)
            }
            state = .interrupted
            return .awaitRecovery

        case (.queued, .interrupt), (.interrupted, .interrupt), (.queued, .recover):
            return .none

        case (.interrupted, .recover(let maxAttempts)):
            if attempt < maxAttempts {
                state = .queued
                return .enqueue
            }
            let failure = JobFailure.attemptsExhausted(attempts: attempt)
            state = .failed
            return .recordFinish(.failed, failure)

        default:
            throw JobTransitionError(from: state, event: event, reason: Self.refusal(state: state, event: event))
        }
    }

    private static func refusal(state: JobState, event: Event) -> String {
        if state.isFinal {
            return "the job has already \(state.rawValue)"
        }
        switch event {
        case .start: return "only a queued job can start"
        case .finished: return "only a running job can finish"
        case .recover: return "only an interrupted job can be recovered"
        case .cancel, .interrupt: return "not applicable in this state"
        }
    }
}

/// An event that does not apply to a job in its current state, e.g. cancelling a job that already
/// succeeded. The job is unchanged.
public struct JobTransitionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The job's state when the event arrived.
    public var from: JobState
    /// The event that was refused.
    public var event: JobStateMachine.Event
    /// Why, for people.
    public var reason: String

    /// Creates the error.
    public init(from: JobState, event: JobStateMachine.Event, reason: String) {
        self.from = from
        self.event = event
        self.reason = reason
    }

    public var description: String { "cannot apply \(event) to a \(from.rawValue) job: \(reason)" }
}
