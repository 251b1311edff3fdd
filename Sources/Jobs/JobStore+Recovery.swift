import Foundation
import GRDB

/// What opening the store did to the jobs a previous run of the daemon left unfinished.
public struct RecoveryReport: Hashable, Sendable {
    /// Jobs queued again, oldest first; their work resumes from the last checkpoint when they start.
    public var requeued: [String] = []
    /// Jobs failed because they had started as often as allowed (``JobFailure/attemptsExhausted(attempts:)``).
    public var failed: [String] = []
    /// Jobs whose cancellation had been asked for while they ran: cancelled, not resumed.
    public var cancelled: [String] = []

    /// Whether recovery changed nothing.
    public var isEmpty: Bool { requeued.isEmpty && failed.isEmpty && cancelled.isEmpty }
}

extension JobStore {
    /// Brings every job a previous run left `running` (the daemon died) or `interrupted` (it shut down)
    /// back to `queued`, or to a final state when it must not run again. One transaction: either every
    /// job is recovered or none is.
    static func recover(pool: DatabasePool, configuration: Configuration) throws -> RecoveryReport {
        do {
            return try pool.write { db in
                var report = RecoveryReport()
                let now = configuration.now()
                let running = try String.fetchAll(
                    db,
                    sql: "SELECT id FROM job WHERE state = 'running' ORDER BY number"
                )
                for id in running {
                    let (job, _) = try apply(
                        db,
                        jobID: id,
                        event: .interrupt,
                        reason: "the daemon stopped while the job was running",
                        now: now
                    )
                    if job.state == .cancelled { report.cancelled.append(id) }
                }
                let interrupted = try String.fetchAll(
                    db,
                    sql: "SELECT id FROM job WHERE state = 'interrupted' ORDER BY number"
                )
                for id in interrupted {
                    let (_, action) = try apply(
                        db,
                        jobID: id,
                        event: .recover(maxAttempts: configuration.maxAttempts),
                        reason: "queued again after a daemon restart",
                        now: now
                    )
                    switch action {
                    case .enqueue: report.requeued.append(id)
                    case .recordFinish(.failed, _): report.failed.append(id)
                    default: break
                    }
                }
                return report
            }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError(.database, "recovering unfinished jobs failed; the database is unchanged", cause: error)
        }
    }
}
