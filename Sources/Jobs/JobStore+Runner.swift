import Foundation
import GRDB

extension JobStore {
    /// Takes the oldest queued job of one of `kinds` and marks it running: the call the runner makes when
    /// a compute slot is free and it has work code for those kinds. Jobs of other kinds stay queued.
    /// Returns `nil` when no such job is queued.
    public func startNextJob(kinds: Set<JobKind>) async throws -> (job: Job, action: JobStateMachine.Action)? {
        guard !kinds.isEmpty else { return nil }
        let names = kinds.map(\.rawValue).sorted()
        return try await write { db in
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        SELECT id FROM job WHERE state = 'queued' AND kind IN (\(databaseQuestionMarks(count: names.count)))
                        ORDER BY number LIMIT 1
                        """,
                    arguments: StatementArguments(names)
                )
            else { return nil }
            return try self.apply(db, jobID: id, event: .start, reason: "started")
        }
    }

    /// Marks one running job interrupted (or cancelled, if cancellation was asked for): the runner calls it
    /// when the daemon shuts down and the job's work has stopped, its checkpoint saved. The next
    /// ``init(directory:configuration:)`` queues it again.
    /// - Throws: ``JobStoreError``: `notFound`, `invalidTransition` when the job is not running.
    @discardableResult
    public func interrupt(jobID: String, reason: String) async throws -> (job: Job, action: JobStateMachine.Action) {
        try await write { db in
            let job = try Self.fetchJob(db, id: jobID)
            guard job.state == .running else {
                throw JobStoreError(
                    .invalidTransition,
                    "job \(jobID) is \(job.state.rawValue), not running; only a running job can be interrupted"
                )
            }
            return try self.apply(db, jobID: jobID, event: .interrupt, reason: reason)
        }
    }
}
