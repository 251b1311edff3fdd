import DaemonAPI
import Foundation
import Jobs
import Testing

/// Issue 4's reliability tests over the real socket, with the fixture daemon (rkdd with the countdown
/// executor) as a child process restarted on the same state directory: a SIGTERM in the middle of a job
/// stops the daemon cleanly and the job resumes from its checkpoint; a `kill -9` in the middle of a job
/// leaves a sound store and the job completes after the restart.
@Suite("Crash and SIGTERM recovery", .serialized)
struct CrashRecoveryTests {
    /// SIGTERM mid-job: exit status 0, the job stored `interrupted` with its checkpoint; after a restart it
    /// runs again as attempt 2 from the checkpoint (not from step 0) and ends with the same sum as an
    /// uninterrupted run.
    @Test func sigtermMidJobExitsCleanlyAndTheJobResumes() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let first = try DaemonProcess(executable: fixtureDaemon, directory: directory.url)
        let (jobID, stepsBeforeStop) = try await first.withClient { client in
            let model = try await uploadSmallModel(client)
            let job = try await submitCountdown(client, digest: model.digest, steps: shortCountdown)
            let running = try await waitForJob(client, job.id) { $0.state == .running && $0.progress.done >= 8 }
            return (job.id, Int(running.progress.done))
        }
        #expect(first.stop(within: 20) == 0)
        #expect(first.notify.wait(for: "STOPPING=1", seconds: 2) != nil)
        #expect(first.logText.contains("job interrupted by the shutdown"))

        let stopped = try JobStore.verify(directory: first.stateDirectory)
        #expect(stopped.isSound, "\(stopped)")
        #expect(stopped.states[jobID] == .interrupted)
        #expect(hasCheckpoints(stateDirectory: first.stateDirectory, jobID: jobID))

        let second = try DaemonProcess(executable: fixtureDaemon, directory: directory.url)
        try await second.withClient { client in
            let finished = try await waitForJob(client, jobID) { $0.state.isFinal }
            #expect(finished.state == .succeeded)
            #expect(finished.attempt == 2)
        }
        let result = try CountdownResult.read(stateDirectory: second.stateDirectory, jobID: jobID)
        #expect(result.attempts.map(\.attempt) == [1, 2])
        #expect(result.attempts.first?.resumedFrom == 0)
        // Resumed where the shutdown checkpoint left it: at or after the progress seen before SIGTERM.
        let resumedFrom = try #require(result.attempts.last?.resumedFrom)
        #expect(resumedFrom >= stepsBeforeStop && resumedFrom > 0 && resumedFrom < shortCountdown)
        #expect(result.checksum == CountdownResult.expectedChecksum(steps: shortCountdown))
        #expect(second.stop(within: 20) == 0)

        let final = try JobStore.verify(directory: second.stateDirectory)
        #expect(final.isSound, "\(final)")
        #expect(final.states[jobID] == .succeeded)
        #expect(!hasCheckpoints(stateDirectory: second.stateDirectory, jobID: jobID))
    }

    /// `kill -9` mid-job: the store is left with the job `running` and passes SQLite's integrity check;
    /// after a restart recovery queues it again, it resumes from its last periodic checkpoint and
    /// completes; the store is sound and every job's events are numbered without gaps.
    @Test func killMidJobThenRestartCompletesTheJob() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let first = try DaemonProcess(executable: fixtureDaemon, directory: directory.url)
        let jobID = try await first.withClient { client in
            let model = try await uploadSmallModel(client)
            // A job that finishes before the crash, so the store holds more than the crashed one.
            let done = try await submitCountdown(client, digest: model.digest, steps: 3)
            _ = try await waitForJob(client, done.id) { $0.state == .succeeded }
            let job = try await submitCountdown(client, digest: model.digest, steps: shortCountdown)
            _ = try await waitForJob(client, job.id) { $0.state == .running && $0.progress.done >= 12 }
            return job.id
        }
        first.kill()
        #expect(first.process.terminationReason == .uncaughtSignal)

        let crashed = try JobStore.verify(directory: first.stateDirectory)
        #expect(crashed.integrityCheck == ["ok"])
        #expect(crashed.eventSequenceGaps.isEmpty)
        #expect(crashed.states[jobID] == .running)

        let second = try DaemonProcess(executable: fixtureDaemon, directory: directory.url)
        try await second.withClient { client in
            let finished = try await waitForJob(client, jobID) { $0.state.isFinal }
            #expect(finished.state == .succeeded)
            #expect(finished.attempt == 2)
            #expect(finished.artifacts.map(\.name) == ["countdown.json"])
        }
        let result = try CountdownResult.read(stateDirectory: second.stateDirectory, jobID: jobID)
        #expect(result.attempts.map(\.attempt) == [1, 2])
        let resumedFrom = try #require(result.attempts.last?.resumedFrom)
        // From a periodic checkpoint (every 5 steps), not from the start.
        #expect(resumedFrom >= 10 && resumedFrom % 5 == 0)
        #expect(result.checksum == CountdownResult.expectedChecksum(steps: shortCountdown))
        #expect(second.stop(within: 20) == 0)

        let final = try JobStore.verify(directory: second.stateDirectory)
        #expect(final.integrityCheck == ["ok"])
        #expect(final.foreignKeyViolations.isEmpty)
        #expect(final.eventSequenceGaps.isEmpty)
        #expect(final.states.count == 2 && final.states.values.allSatisfy { $0 == .succeeded })
    }
}
