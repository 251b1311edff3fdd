import Foundation
import GRDB
import Testing

@testable import Jobs

/// The store calls the job runner makes (start by kind, interrupt one job) and the read-only verification.
@Suite struct JobStoreRunnerTests {
    @Test func startNextJobTakesOnlyTheGivenKinds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try JobStore(directory: directory.url)
        let teacher = try await store.submit(JobSubmission(ownerUID: 1000, spec: .teacherTraining(Fixtures.teacher())))
        let audit = try await store.submit(Fixtures.submission())
        #expect(try await store.startNextJob(kinds: []) == nil)
        #expect(try await store.startNextJob(kinds: [.harden]) == nil)
        // The teacher job is older, but only audits are asked for.
        let started = try #require(try await store.startNextJob(kinds: [.audit]))
        #expect(started.job.id == audit.job.id)
        #expect(started.action == .startWork(attempt: 1))
        #expect(try await store.job(id: teacher.job.id)?.state == .queued)
        #expect(try await store.startNextJob(kinds: [.audit]) == nil)
    }

    @Test func interruptingOneJobLeavesItForRecovery() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store = try JobStore(directory: directory.url)
        let first = try await store.submit(Fixtures.submission(seed: 1))
        let second = try await store.submit(Fixtures.submission(seed: 2))
        _ = try await store.startNextJob(kinds: [.audit])
        _ = try await store.startNextJob(kinds: [.audit])
        let (job, action) = try await store.interrupt(jobID: first.job.id, reason: "shutting down")
        #expect(job.state == .interrupted && action == .awaitRecovery)
        #expect(try await store.job(id: second.job.id)?.state == .running)
        // Only a running job can be interrupted.
        await #expect(throws: JobStoreError.self) {
            try await store.interrupt(jobID: first.job.id, reason: "again")
        }
        // A job whose cancellation was asked for is cancelled rather than interrupted.
        _ = try await store.cancel(jobID: second.job.id, reason: "cancelled by uid 1000")
        #expect(try await store.interrupt(jobID: second.job.id, reason: "shutting down").job.state == .cancelled)
        store = try JobStore(directory: directory.url)
        #expect(store.recovery.requeued == [first.job.id])
        #expect(try await store.job(id: first.job.id)?.state == .queued)
    }

    @Test func verifyReportsASoundStoreAndFindsGaps() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try JobStore(directory: directory.url)
        let submitted = try await store.submit(Fixtures.submission())
        _ = try await store.startNextJob()
        try await store.recordProgress(jobID: submitted.job.id, JobProgress(phase: "x", done: 1, total: 2, unit: "u"))
        let sound = try JobStore.verify(directory: directory.url)
        #expect(sound.isSound)
        #expect(sound.integrityCheck == ["ok"])
        #expect(sound.states == [submitted.job.id: .running])
        // Remove the middle event: the gap is reported.
        try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM job_event WHERE seq = 2")
        }
        let broken = try JobStore.verify(directory: directory.url)
        #expect(!broken.isSound)
        #expect(broken.eventSequenceGaps.count == 1)
        #expect(broken.eventSequenceGaps.first?.hasPrefix(submitted.job.id) == true)
        // A missing file is an error, not an empty report.
        #expect(throws: JobStoreError.self) {
            try JobStore.verify(directory: directory.url.appendingPathComponent("missing"))
        }
    }
}
