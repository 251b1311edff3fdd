import Testing

@testable import Jobs

/// The job state machine, without I/O: every event in every state.
@Suite struct JobStateMachineTests {
    typealias Machine = JobStateMachine
    private static let failure = JobFailure(code: "test", message: "boom")

    @Test func aJobRunsToSuccess() throws {
        var machine = Machine()
        #expect(try machine.handle(.start) == .startWork(attempt: 1))
        #expect(machine.state == .running)
        #expect(try machine.handle(.finished(.succeeded)) == .recordFinish(.succeeded, nil))
        #expect(machine.state == .succeeded)
        #expect(machine.attempt == 1)
    }

    @Test func aFailureIsRecordedWithItsCause() throws {
        var machine = Machine(state: .running, attempt: 1)
        #expect(try machine.handle(.finished(.failed(Self.failure))) == .recordFinish(.failed, Self.failure))
        #expect(machine.state == .failed)
    }

    @Test func cancellingAQueuedJobCancelsItAtOnce() throws {
        var machine = Machine()
        #expect(try machine.handle(.cancel) == .recordFinish(.cancelled, nil))
        #expect(machine.state == .cancelled)
        // Cancelling again changes nothing and is not an error.
        #expect(try machine.handle(.cancel) == .none)
        #expect(machine.state == .cancelled)
    }

    @Test func cancellingARunningJobStopsItsWorkFirst() throws {
        var machine = Machine(state: .running, attempt: 1)
        #expect(try machine.handle(.cancel) == .stopWork)
        #expect(machine.state == .running)
        #expect(machine.cancelRequested)
        // A second request does not signal the work again.
        #expect(try machine.handle(.cancel) == .none)
        #expect(try machine.handle(.finished(.cancelled)) == .recordFinish(.cancelled, nil))
        #expect(machine.state == .cancelled)
    }

    @Test func workThatFinishesBeforeNoticingCancellationKeepsItsResult() throws {
        var machine = Machine(state: .running, attempt: 1, cancelRequested: true)
        #expect(try machine.handle(.finished(.succeeded)) == .recordFinish(.succeeded, nil))
        #expect(machine.state == .succeeded)
    }

    @Test func workCannotReportCancellationNobodyAskedFor() {
        var machine = Machine(state: .running, attempt: 1)
        #expect(throws: JobTransitionError.self) { try machine.handle(.finished(.cancelled)) }
        #expect(machine == Machine(state: .running, attempt: 1))
    }

    @Test func anInterruptedJobIsQueuedAgainAndCountsItsAttempts() throws {
        var machine = Machine()
        _ = try machine.handle(.start)
        #expect(try machine.handle(.interrupt) == .awaitRecovery)
        #expect(machine.state == .interrupted)
        #expect(try machine.handle(.recover(maxAttempts: 3)) == .enqueue)
        #expect(machine.state == .queued)
        #expect(try machine.handle(.start) == .startWork(attempt: 2))
    }

    @Test func aJobInterruptedAsOftenAsAllowedFails() throws {
        var machine = Machine()
        for attempt in 1...3 {
            #expect(try machine.handle(.start) == .startWork(attempt: attempt))
            #expect(try machine.handle(.interrupt) == .awaitRecovery)
            let action = try machine.handle(.recover(maxAttempts: 3))
            if attempt < 3 {
                #expect(action == .enqueue)
            } else {
                #expect(action == .recordFinish(.failed, .attemptsExhausted(attempts: 3)))
            }
        }
        #expect(machine.state == .failed)
        #expect(machine.attempt == 3)
    }

    @Test func aRunningJobWithACancellationRequestIsCancelledNotResumedWhenInterrupted() throws {
        var machine = Machine(state: .running, attempt: 1)
        _ = try machine.handle(.cancel)
        #expect(try machine.handle(.interrupt) == .recordFinish(.cancelled, nil))
        #expect(machine.state == .cancelled)
    }

    @Test func anInterruptedJobCanBeCancelledBeforeRecovery() throws {
        var machine = Machine(state: .interrupted, attempt: 1)
        #expect(try machine.handle(.cancel) == .recordFinish(.cancelled, nil))
        #expect(machine.state == .cancelled)
    }

    @Test func interruptAndRecoverLeaveAQueuedJobAlone() throws {
        var machine = Machine()
        #expect(try machine.handle(.interrupt) == .none)
        #expect(try machine.handle(.recover(maxAttempts: 1)) == .none)
        #expect(machine == Machine())
    }

    @Test func startingAgainClearsAnOldCancellationFlag() throws {
        // A job whose cancellation was asked for is never requeued, but a stored row could carry the flag.
        var machine = Machine(state: .queued, attempt: 1, cancelRequested: true)
        _ = try machine.handle(.start)
        #expect(!machine.cancelRequested)
    }

    /// Every event that does not apply throws and leaves the machine unchanged.
    @Test(arguments: [
        (JobState.queued, Machine.Event.finished(.succeeded)),
        (.running, .start),
        (.running, .recover(maxAttempts: 3)),
        (.interrupted, .start),
        (.interrupted, .finished(.succeeded)),
        (.succeeded, .cancel),
        (.failed, .cancel),
        (.succeeded, .start),
        (.cancelled, .start),
        (.failed, .interrupt),
        (.cancelled, .recover(maxAttempts: 3)),
        (.succeeded, .finished(.succeeded)),
    ])
    func refusedEvents(state: JobState, event: Machine.Event) {
        var machine = Machine(state: state, attempt: 1)
        let before = machine
        let error = #expect(throws: JobTransitionError.self) { try machine.handle(event) }
        #expect(error?.from == state)
        #expect(machine == before)
    }

    @Test func finalStatesAreExactlyTheThreeEndings() {
        #expect(JobState.allCases.filter(\.isFinal) == [.succeeded, .failed, .cancelled])
    }

    @Test func cancellingAFinishedJobSaysWhy() {
        var machine = Machine(state: .succeeded, attempt: 1)
        let error = #expect(throws: JobTransitionError.self) { try machine.handle(.cancel) }
        #expect(error?.reason == "the job has already succeeded")
    }
}
