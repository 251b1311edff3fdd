import Foundation
import GRDB

/// What ``JobStore/verify(directory:)`` found in a job database.
public struct JobStoreVerification: Hashable, Sendable {
    /// SQLite's `PRAGMA integrity_check` rows: `["ok"]` for a sound file.
    public var integrityCheck: [String]
    /// `PRAGMA foreign_key_check` findings, one line per orphaned row; empty when every event and artifact
    /// belongs to a job.
    public var foreignKeyViolations: [String]
    /// Jobs whose event sequence numbers are not exactly 1, 2, …, n, with what was found.
    public var eventSequenceGaps: [String]
    /// Every job's stored state, by id, as the file holds it (no recovery applied).
    public var states: [String: JobState]

    /// Whether nothing is wrong.
    public var isSound: Bool {
        integrityCheck == ["ok"] && foreignKeyViolations.isEmpty && eventSequenceGaps.isEmpty
    }
}

extension JobStore {
    /// Checks a job database without changing it: opens `rkd.sqlite` in `directory` read-only (no
    /// migration, no recovery), runs SQLite's integrity and foreign-key checks and checks that every job's
    /// events are numbered 1, 2, 3, … without gaps. Run it while no daemon uses the directory.
    /// - Throws: ``JobStoreError`` `database` when the file cannot be opened or read.
    public static func verify(directory: URL) throws -> JobStoreVerification {
        let path = directory.appendingPathComponent(fileName).path
        var configuration = GRDB.Configuration()
        configuration.readonly = true
        configuration.label = "rkd.jobs.verify"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                    row.description
                }
                var gaps: [String] = []
                let sequences = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT job_id, COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM job_event GROUP BY job_id"
                )
                for row in sequences {
                    let id: String = row["job_id"]
                    let count: Int64 = row["n"]
                    let first: Int64 = row["first"]
                    let last: Int64 = row["last"]
                    if first != 1 || last != count {
                        gaps.append("\(id): \(count) events numbered \(first)…\(last)")
                    }
                }
                let withoutEvents = try String.fetchAll(
                    db,
                    sql: "SELECT id FROM job WHERE id NOT IN (SELECT job_id FROM job_event)"
                )
                gaps += withoutEvents.map { "\($0): no events" }
                var states: [String: JobState] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT id, state FROM job") {
                    let id: String = row["id"]
                    let state: String = row["state"]
                    guard let value = JobState(rawValue: state) else {
                        throw JobStoreError(.incompatibleDatabase, "job \(id) has an unknown state '\(state)'")
                    }
                    states[id] = value
                }
                return JobStoreVerification(
                    integrityCheck: integrity,
                    foreignKeyViolations: foreignKeys,
                    eventSequenceGaps: gaps,
                    states: states
                )
            }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError(
                .database,
                "cannot read the job database \(path) to verify it; check that it exists and is readable",
                cause: error
            )
        }
    }
}
