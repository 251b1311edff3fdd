import Foundation
import GRDB
import Synchronization
import Testing

@testable import Jobs

/// The SQLite job store, each test in its own temporary state directory.
@Suite struct JobStoreTests {
    /// A clock the tests move by hand, in whole seconds (the database keeps milliseconds).
    final class ManualClock: Sendable {
        private let seconds = Mutex(1_800_000_000.0)

        func now() -> Date { Date(timeIntervalSince1970: seconds.withLock { $0 }) }
        func advance(by delta: Double) { seconds.withLock { $0 += delta } }
    }

    private static func open(
        _ directory: TemporaryDirectory,
        clock: ManualClock = ManualClock(),
        maxQueued: Int = 64,
        maxAttempts: Int = 3
    ) throws -> JobStore {
        try JobStore(
            directory: directory.url,
            configuration: .init(maxQueuedJobs: maxQueued, maxAttempts: maxAttempts, now: { clock.now() })
        )
    }

    // MARK: - Opening

    @Test func openingCreatesTheSchemaInWALModeWithFullSync() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        #expect(FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("rkd.sqlite").path))
        let (journal, synchronous, tables, migrations) = try await store.pool.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
                try JobStore.migrator.appliedMigrations(db)
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 2, "synchronous must be FULL (2), so an accepted job survives power loss")
        #expect(Set(tables).isSuperset(of: ["job", "job_event", "job_artifact", "grdb_migrations"]))
        #expect(migrations == JobStore.migrator.migrations)
        #expect(store.recovery.isEmpty)
    }

    @Test func aDatabaseFromANewerRKDIsRefusedAndLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        _ = try await store.submit(Fixtures.submission())
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        let error = #expect(throws: JobStoreError.self) { try Self.open(directory) }
        #expect(error?.code == .incompatibleDatabase)
        let jobs = try await store.jobs()
        #expect(jobs.jobs.count == 1)
    }

    @Test func jobsSurviveReopeningWithEverythingTheyHad() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock()
        var store: JobStore? = try Self.open(directory, clock: clock)
        let submitted = try #require(try await store?.submit(Fixtures.submission(requestID: "req-1")))
        clock.advance(by: 5)
        let started = try #require(try await store?.startNextJob())
        let progress = JobProgress(
            phase: "pgd eps=0.1",
            done: 40,
            total: 100,
            unit: "examples",
            rate: 8,
            etaSeconds: 7.5
        )
        try await store?.recordProgress(jobID: started.job.id, progress)
        clock.advance(by: 5)
        let artifact = JobArtifact(
            name: "report.json",
            relativePath: "reports/\(started.job.id)/report.json",
            size: 12,
            sha256: String(repeating: "0", count: 64),
            mediaType: "application/json"
        )
        try await store?.recordArtifact(jobID: started.job.id, artifact)
        let finished = try #require(try await store?.finish(jobID: started.job.id, outcome: .succeeded))
        store = nil

        let reopened = try Self.open(directory, clock: clock)
        let job = try #require(try await reopened.job(id: submitted.job.id))
        #expect(job == finished)
        #expect(job.state == .succeeded)
        #expect(job.spec == .audit(Fixtures.audit()))
        #expect(job.ownerUID == 1000)
        #expect(job.requestID == "req-1")
        #expect(job.progress == progress)
        #expect(job.createdAt == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(job.startedAt == Date(timeIntervalSince1970: 1_800_000_005))
        #expect(job.finishedAt == Date(timeIntervalSince1970: 1_800_000_010))
        #expect(try await reopened.artifacts(jobID: job.id) == [artifact])
        let events = try await reopened.events(jobID: job.id)
        #expect(events.map(\.seq) == [1, 2, 3, 4])
        #expect(events.map(\.payload.kind) == ["state", "state", "progress", "state"])
        #expect(reopened.recovery.isEmpty)
    }

    // MARK: - Recovery

    @Test func runningJobsAreQueuedAgainOnOpenWithTheirAttemptCounted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store: JobStore? = try Self.open(directory)
        let first = try #require(try await store?.submit(Fixtures.submission(seed: 1)).job)
        let second = try #require(try await store?.submit(Fixtures.submission(seed: 2)).job)
        let third = try #require(try await store?.submit(Fixtures.submission(seed: 3)).job)
        #expect(try await store?.startNextJob()?.job.id == first.id)
        // The daemon dies here: `first` is left running; nothing else happens.
        store = nil

        let reopened = try Self.open(directory)
        #expect(reopened.recovery == RecoveryReport(requeued: [first.id]))
        let recovered = try #require(try await reopened.job(id: first.id))
        #expect(recovered.state == .queued)
        #expect(recovered.attempt == 1)
        let transitions = try await reopened.events(jobID: first.id).compactMap { event -> JobState? in
            if case .stateChange(let change) = event.payload { change.to } else { nil }
        }
        #expect(transitions == [.queued, .running, .interrupted, .queued])
        // Nothing was lost, and the recovered job keeps its place at the head of the queue.
        let next = try #require(try await reopened.startNextJob())
        #expect(next.job.id == first.id)
        #expect(next.action == .startWork(attempt: 2))
        #expect(try await reopened.job(id: second.id)?.state == .queued)
        #expect(try await reopened.job(id: third.id)?.state == .queued)
    }

    @Test func aGracefulShutdownInterruptsAndTheNextOpenRequeues() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store: JobStore? = try Self.open(directory)
        let job = try #require(try await store?.submit(Fixtures.submission()).job)
        _ = try await store?.startNextJob()
        #expect(try await store?.interruptRunningJobs() == [job.id])
        #expect(try await store?.job(id: job.id)?.state == .interrupted)
        store = nil
        let reopened = try Self.open(directory)
        #expect(reopened.recovery.requeued == [job.id])
        #expect(try await reopened.job(id: job.id)?.state == .queued)
    }

    @Test func aJobThatKeepsGettingInterruptedFailsSayingWhy() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let job = try await Self.open(directory, maxAttempts: 2).submit(Fixtures.submission()).job
        for round in 1...2 {
            let store = try Self.open(directory, maxAttempts: 2)
            if round == 2 { #expect(store.recovery.requeued == [job.id]) }
            #expect(try await store.startNextJob()?.action == .startWork(attempt: round))
        }
        let store = try Self.open(directory, maxAttempts: 2)
        #expect(store.recovery == RecoveryReport(failed: [job.id]))
        let failed = try #require(try await store.job(id: job.id))
        #expect(failed.state == .failed)
        #expect(failed.failure == .attemptsExhausted(attempts: 2))
        #expect(failed.finishedAt != nil)
    }

    @Test func aRunningJobWhoseCancellationWasAskedIsCancelledOnOpen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var store: JobStore? = try Self.open(directory)
        let job = try #require(try await store?.submit(Fixtures.submission()).job)
        _ = try await store?.startNextJob()
        let cancelled = try #require(try await store?.cancel(jobID: job.id, reason: "cancelled by uid 1000"))
        #expect(cancelled.action == .stopWork)
        #expect(cancelled.job.cancelRequested)
        store = nil
        let reopened = try Self.open(directory)
        #expect(reopened.recovery == RecoveryReport(cancelled: [job.id]))
        #expect(try await reopened.job(id: job.id)?.state == .cancelled)
    }

    // MARK: - Submitting and running

    @Test func theQueueIsBounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory, maxQueued: 2)
        _ = try await store.submit(Fixtures.submission(seed: 1))
        _ = try await store.submit(Fixtures.submission(seed: 2))
        let error = await #expect(throws: JobStoreError.self) { try await store.submit(Fixtures.submission(seed: 3)) }
        #expect(error?.code == .queueFull)
        // A running job no longer counts against the queue.
        _ = try await store.startNextJob()
        _ = try await store.submit(Fixtures.submission(seed: 3))
        #expect(try await store.jobs(matching: JobFilter(states: [.queued])).jobs.count == 2)
    }

    @Test func aRepeatedRequestIDReturnsTheFirstJob() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        let first = try await store.submit(Fixtures.submission(requestID: "abc"))
        let again = try await store.submit(Fixtures.submission(requestID: "abc"))
        #expect(first.isNew)
        #expect(!again.isNew)
        #expect(again.job == first.job)
        // Another owner's key is a different key.
        #expect(try await store.submit(Fixtures.submission(owner: 1001, requestID: "abc")).isNew)
        // The same key for a different request is an error, not a silent mix-up.
        let error = await #expect(throws: JobStoreError.self) {
            try await store.submit(Fixtures.submission(requestID: "abc", seed: 99))
        }
        #expect(error?.code == .requestIDReused)
        #expect(try await store.jobs().jobs.count == 2)
    }

    @Test func anInvalidSpecIsRefusedNamingTheField() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        var spec = Fixtures.audit()
        spec.epsilons = [0]
        let error = await #expect(throws: JobStoreError.self) {
            try await store.submit(JobSubmission(ownerUID: 0, spec: .audit(spec)))
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.hasPrefix("spec.epsilons[0]") == true)
        #expect(try await store.jobs().jobs.isEmpty)
    }

    @Test func jobsStartOldestFirstOneAtATime() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        var ids: [String] = []
        for seed in 1...3 { ids.append(try await store.submit(Fixtures.submission(seed: UInt64(seed))).job.id) }
        var started: [String] = []
        while let next = try await store.startNextJob() {
            started.append(next.job.id)
            try await store.finish(jobID: next.job.id, outcome: .succeeded)
        }
        #expect(started == ids)
    }

    @Test func cancellingAQueuedJobIsImmediateAndAFinishedOneIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        let queued = try await store.submit(Fixtures.submission(seed: 1)).job
        let result = try await store.cancel(jobID: queued.id, reason: "cancelled by uid 1000")
        #expect(result.job.state == .cancelled)
        #expect(result.action == .recordFinish(.cancelled, nil))
        #expect(try await store.startNextJob() == nil)

        let other = try await store.submit(Fixtures.submission(seed: 2)).job
        _ = try await store.startNextJob()
        try await store.finish(jobID: other.id, outcome: .failed(JobFailure(code: "bad-model", message: "no")))
        let error = await #expect(throws: JobStoreError.self) {
            try await store.cancel(jobID: other.id, reason: "cancelled by uid 1000")
        }
        #expect(error?.code == .invalidTransition)
        let failed = try #require(try await store.job(id: other.id))
        #expect(failed.failure == JobFailure(code: "bad-model", message: "no"))

        let missing = await #expect(throws: JobStoreError.self) {
            try await store.cancel(jobID: "no-such-job", reason: "x")
        }
        #expect(missing?.code == .notFound)
    }

    @Test func progressIsOnlyRecordedForRunningJobs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        let job = try await store.submit(Fixtures.submission()).job
        let progress = JobProgress(phase: "p", done: 1, total: 2, unit: "steps")
        let error = await #expect(throws: JobStoreError.self) {
            try await store.recordProgress(jobID: job.id, progress)
        }
        #expect(error?.code == .invalidTransition)
    }

    @Test func eventsReplayAfterASequenceNumber() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        let job = try await store.submit(Fixtures.submission()).job
        _ = try await store.startNextJob()
        for step in 1...5 {
            try await store.recordProgress(
                jobID: job.id,
                JobProgress(phase: "train", done: step, total: 5, unit: "steps")
            )
        }
        try await store.appendLog(jobID: job.id, .init(level: .warning, message: "gradients may be masked"))
        try await store.finish(jobID: job.id, outcome: .succeeded)
        let all = try await store.events(jobID: job.id)
        #expect(all.map(\.seq) == Array(1...9))
        let tail = try await store.events(jobID: job.id, after: 6)
        #expect(tail.map(\.seq) == [7, 8, 9])
        #expect(tail[1].payload == .log(.init(level: .warning, message: "gradients may be masked")))
        guard case .stateChange(let last) = tail[2].payload else {
            Issue.record("the last event must be the final state change")
            return
        }
        #expect(last.from == .running)
        #expect(last.to == .succeeded)
    }

    @Test func listingsFilterAndPageNewestFirst() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Self.open(directory)
        var ids: [String] = []
        for index in 0..<7 {
            let owner: UInt32 = index.isMultiple(of: 2) ? 1000 : 1001
            ids.append(try await store.submit(Fixtures.submission(owner: owner, seed: UInt64(index))).job.id)
        }
        let teacher = try await store.submit(JobSubmission(ownerUID: 0, spec: .teacherTraining(Fixtures.teacher())))
        _ = try await store.startNextJob()  // ids[0] runs

        #expect(try await store.jobs(matching: JobFilter(states: [.running])).jobs.map(\.id) == [ids[0]])
        #expect(
            try await store.jobs(matching: JobFilter(ownerUID: 1000)).jobs.map(\.id) == [
                ids[6], ids[4], ids[2], ids[0],
            ]
        )
        #expect(try await store.jobs(matching: JobFilter(kind: .teacherTraining)).jobs.map(\.id) == [teacher.job.id])
        #expect(
            try await store.jobs(matching: JobFilter(states: [.queued], kind: .audit, ownerUID: 1001)).jobs.map(\.id)
                == [ids[5], ids[3], ids[1]]
        )

        var pages: [[String]] = []
        var cursor: Int64?
        repeat {
            let page = try await store.jobs(limit: 3, after: cursor)
            pages.append(page.jobs.map(\.id))
            cursor = page.nextCursor
        } while cursor != nil
        #expect(pages.map(\.count) == [3, 3, 2])
        #expect(pages.flatMap { $0 } == [teacher.job.id] + ids.reversed())
    }

    // MARK: - Concurrency

    /// Two store handles on the same database (as two processes would have) and many tasks each, writing
    /// at once: every submission is stored once, with an intact event history.
    @Test func concurrentWritersLoseNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let stores = [try Self.open(directory, maxQueued: 1000), try Self.open(directory, maxQueued: 1000)]
        let perStore = 40
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for (storeIndex, store) in stores.enumerated() {
                for index in 0..<perStore {
                    group.addTask {
                        let seed = UInt64(storeIndex * perStore + index)
                        let job = try await store.submit(Fixtures.submission(requestID: "r\(seed)", seed: seed)).job
                        try await store.appendLog(jobID: job.id, .init(level: .info, message: "hello \(seed)"))
                        return job.id
                    }
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(ids).count == 2 * perStore)
        let listed = try await stores[1].jobs(limit: 1000).jobs
        #expect(Set(listed.map(\.id)) == Set(ids))
        for id in ids.prefix(10) {
            #expect(try await stores[0].events(jobID: id).map(\.seq) == [1, 2])
        }
        // Both handles start jobs concurrently: each job starts exactly once.
        let started = try await withThrowingTaskGroup(of: [String].self) { group in
            for store in stores {
                group.addTask {
                    var mine: [String] = []
                    while let next = try await store.startNextJob() { mine.append(next.job.id) }
                    return mine
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        #expect(started.count == ids.count)
        #expect(Set(started) == Set(ids))
    }
}
