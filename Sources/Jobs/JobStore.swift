import Foundation
import GRDB

/// The daemon's jobs, their events and artifacts, in SQLite (`rkd.sqlite` in the state directory).
///
/// The database runs in WAL mode with `synchronous = FULL`, so a job the store has accepted survives
/// a power loss, not only a crash of the daemon. Every state change goes through ``JobStateMachine``
/// inside one write transaction together with the event that records it. Opening the store migrates
/// the schema and recovers the jobs a previous run left `running` or `interrupted` (see ``recovery``).
public final class JobStore: Sendable {
    /// Limits and injected dependencies.
    public struct Configuration: Sendable {
        /// The most jobs that may wait in state `queued`; a submission beyond it is refused with
        /// ``JobStoreError/Code/queueFull``. Recovery requeues interrupted jobs even beyond it.
        public var maxQueuedJobs: Int
        /// How many times a job may start before an interruption fails it instead of queueing it again.
        public var maxAttempts: Int
        /// The clock.
        public var now: @Sendable () -> Date
        /// Makes job ids.
        public var makeID: @Sendable () -> String

        /// Creates a configuration; the defaults are the daemon's.
        public init(
            maxQueuedJobs: Int = 64,
            maxAttempts: Int = 3,
            now: @escaping @Sendable () -> Date = { Date() },
            makeID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
        ) {
            self.maxQueuedJobs = maxQueuedJobs
            self.maxAttempts = maxAttempts
            self.now = now
            self.makeID = makeID
        }
    }

    /// The database's file name in the state directory.
    public static let fileName = "rkd.sqlite"

    /// What opening the store did to jobs a previous run left unfinished.
    public let recovery: RecoveryReport
    /// The limits and dependencies the store was opened with.
    public let configuration: Configuration
    let pool: DatabasePool

    /// Opens (creating if needed) the store in `directory`, migrates it and recovers unfinished jobs.
    /// - Throws: ``JobStoreError``: `incompatibleDatabase` when a newer rkd wrote the database, `database`
    ///   when SQLite or the file system fails.
    public init(directory: URL, configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        let path = directory.appendingPathComponent(Self.fileName).path
        var grdb = GRDB.Configuration()
        grdb.busyMode = .timeout(10)
        grdb.label = "rkd.jobs"
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            pool = try DatabasePool(path: path, configuration: grdb)
            // GRDB sets synchronous = NORMAL when it enables WAL; in WAL mode NORMAL may lose the last
            // commits on power loss. FULL syncs the WAL at every commit. Only the writer connection writes.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw JobStoreError(
                .database,
                "cannot open the job database \(path); check that the state directory exists, is writable "
                    + "and has free space",
                cause: error
            )
        }
        let migrator = Self.migrator
        do {
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                throw JobStoreError(
                    .incompatibleDatabase,
                    "\(path) was written by a newer version of rkd; run that version, or move the file away "
                        + "to start with an empty job list"
                )
            }
            try migrator.migrate(pool)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError(.database, "cannot migrate the job database \(path)", cause: error)
        }
        recovery = try Self.recover(pool: pool, configuration: configuration)
    }

    // MARK: - Submitting

    /// Validates and stores a new job in state `queued`.
    ///
    /// With a request id that the same owner used before for the same request, returns the stored job
    /// and stores nothing.
    /// - Throws: ``JobStoreError``: `invalidRequest` (the message names the field), `requestIDReused`,
    ///   `queueFull`, `database`.
    public func submit(_ submission: JobSubmission) async throws -> SubmitResult {
        do {
            try submission.spec.validate()
        } catch {
            throw JobStoreError(.invalidRequest, error.description, cause: error)
        }
        if let requestID = submission.requestID,
            requestID.isEmpty || requestID.utf8.count > JobSubmission.maximumRequestIDLength
        {
            throw JobStoreError(
                .invalidRequest,
                "request_id must be 1 to \(JobSubmission.maximumRequestIDLength) bytes long; a UUID will do"
            )
        }
        let specJSON: String
        do {
            specJSON = String(decoding: try submission.spec.encodedJSON(), as: UTF8.self)
        } catch {
            throw JobStoreError(.invalidRequest, "the job spec cannot be encoded", cause: error)
        }
        let configuration = configuration
        let id = configuration.makeID()
        return try await write { db in
            if let requestID = submission.requestID,
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM job WHERE owner_uid = ? AND request_id = ?",
                    arguments: [submission.ownerUID, requestID]
                )
            {
                let existing = try Self.decodeJob(row)
                guard existing.spec == submission.spec, existing.modelDigest == submission.modelDigest else {
                    throw JobStoreError(
                        .requestIDReused,
                        "request_id '\(requestID)' was already used for job \(existing.id), a different "
                            + "request; use a new request_id for a new job"
                    )
                }
                return SubmitResult(job: existing, isNew: false)
            }
            let queued =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE state = 'queued'") ?? 0
            guard queued < configuration.maxQueuedJobs else {
                throw JobStoreError(
                    .queueFull,
                    "the job queue is full (\(queued) jobs waiting, the limit is \(configuration.maxQueuedJobs)); "
                        + "retry when some have finished"
                )
            }
            let now = configuration.now()
            try db.execute(
                sql: """
                    INSERT INTO job (id, kind, owner_uid, model_digest, request_id, spec, state, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)
                    """,
                arguments: [
                    id, submission.spec.kind.rawValue, submission.ownerUID, submission.modelDigest,
                    submission.requestID, specJSON, now,
                ]
            )
            _ = try Self.appendEvent(
                db,
                jobID: id,
                time: now,
                payload: .stateChange(
                    .init(from: nil, to: .queued, attempt: 0, reason: "submitted by uid \(submission.ownerUID)")
                )
            )
            return SubmitResult(job: try Self.fetchJob(db, id: id), isNew: true)
        }
    }

    // MARK: - Running

    /// Takes the oldest queued job and marks it running: the call the runner makes when a compute
    /// slot is free. Returns `nil` when nothing is queued.
    public func startNextJob() async throws -> (job: Job, action: JobStateMachine.Action)? {
        try await write { db in
            guard
                let id = try String.fetchOne(
                    db,
                    sql: "SELECT id FROM job WHERE state = 'queued' ORDER BY number LIMIT 1"
                )
            else { return nil }
            return try self.apply(db, jobID: id, event: .start, reason: "started")
        }
    }

    /// Asks a job to stop. A queued (or interrupted) job is cancelled at once; a running one is
    /// flagged, and the action ``JobStateMachine/Action/stopWork`` tells the runner to stop it.
    /// - Parameter reason: who asked, for the job's history, e.g. `cancelled by uid 1000`.
    /// - Throws: ``JobStoreError``: `notFound`, `invalidTransition` for a succeeded or failed job.
    public func cancel(jobID: String, reason: String) async throws -> (job: Job, action: JobStateMachine.Action) {
        try await write { db in try self.apply(db, jobID: jobID, event: .cancel, reason: reason) }
    }

    /// Records how a running job's work ended.
    /// - Throws: ``JobStoreError``: `notFound`, `invalidTransition` when the job is not running.
    @discardableResult
    public func finish(jobID: String, outcome: JobStateMachine.Outcome) async throws -> Job {
        let reason =
            switch outcome {
            case .succeeded: "finished"
            case .failed(let failure): "failed: \(failure.message)"
            case .cancelled: "stopped after cancellation"
            }
        return try await write { db in
            try self.apply(db, jobID: jobID, event: .finished(outcome), reason: reason).job
        }
    }

    /// Marks every running job interrupted (or cancelled, if cancellation was asked for): the daemon
    /// calls it when it shuts down. The next ``init(directory:configuration:)`` queues them again.
    /// - Returns: the ids of the jobs changed, oldest first.
    @discardableResult
    public func interruptRunningJobs() async throws -> [String] {
        try await write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM job WHERE state = 'running' ORDER BY number")
            for id in ids {
                _ = try self.apply(db, jobID: id, event: .interrupt, reason: "the daemon is shutting down")
            }
            return ids
        }
    }

    /// Records a running job's progress in the job and as an event.
    /// - Returns: the event's sequence number.
    /// - Throws: ``JobStoreError``: `notFound`, `invalidTransition` when the job is not running.
    @discardableResult
    public func recordProgress(jobID: String, _ progress: JobProgress) async throws -> Int64 {
        let now = configuration.now()
        return try await write { db in
            let job = try Self.fetchJob(db, id: jobID)
            guard job.state == .running else {
                throw JobStoreError(
                    .invalidTransition,
                    "job \(jobID) is \(job.state.rawValue), not running; progress is not recorded"
                )
            }
            try db.execute(
                sql: "UPDATE job SET progress = ? WHERE id = ?",
                arguments: [try Self.json(progress), jobID]
            )
            return try Self.appendEvent(db, jobID: jobID, time: now, payload: .progress(progress))
        }
    }

    /// Appends a line to a job's log.
    /// - Returns: the event's sequence number.
    @discardableResult
    public func appendLog(jobID: String, _ line: JobEvent.LogLine) async throws -> Int64 {
        let now = configuration.now()
        return try await write { db in
            _ = try Self.fetchJob(db, id: jobID)
            return try Self.appendEvent(db, jobID: jobID, time: now, payload: .log(line))
        }
    }

    /// Records a file a job produced. Write the file durably first (``ArtifactStore``), then record it,
    /// so the database never points at a missing file. Recording a name again replaces the record.
    public func recordArtifact(jobID: String, _ artifact: JobArtifact) async throws {
        try await write { db in
            _ = try Self.fetchJob(db, id: jobID)
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO job_artifact (job_id, name, relative_path, size, sha256, media_type)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    jobID, artifact.name, artifact.relativePath, artifact.size, artifact.sha256, artifact.mediaType,
                ]
            )
        }
    }

    // MARK: - Reading

    /// The job with this id, or `nil`.
    public func job(id: String) async throws -> Job? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.decodeJob)
        }
    }

    /// One page of the jobs matching `filter`, newest first.
    /// - Parameters:
    ///   - limit: the page size, at least 1.
    ///   - cursor: the previous page's ``JobPage/nextCursor``; `nil` for the first page.
    public func jobs(
        matching filter: JobFilter = JobFilter(),
        limit: Int = 50,
        after cursor: Int64? = nil
    )
        async throws -> JobPage
    {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !filter.states.isEmpty {
            let states = filter.states.map(\.rawValue).sorted()
            conditions.append("state IN (\(databaseQuestionMarks(count: states.count)))")
            arguments += StatementArguments(states)
        }
        if let kind = filter.kind {
            conditions.append("kind = ?")
            arguments += [kind.rawValue]
        }
        if let owner = filter.ownerUID {
            conditions.append("owner_uid = ?")
            arguments += [owner]
        }
        if let cursor {
            conditions.append("number < ?")
            arguments += [cursor]
        }
        let pageSize = max(limit, 1)
        arguments += [pageSize + 1]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT * FROM job \(whereClause) ORDER BY number DESC LIMIT ?"
        let statementArguments = arguments
        return try await read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: statementArguments)
            let page = rows.prefix(pageSize)
            var next: Int64?
            if rows.count > pageSize, let last = page.last {
                next = try last.decode(Int64.self, forColumn: "number")
            }
            return JobPage(jobs: try page.map(Self.decodeJob), nextCursor: next)
        }
    }

    /// The stored events of a job with a sequence number above `seq`, oldest first.
    /// - Throws: ``JobStoreError`` `notFound` when there is no such job.
    public func events(jobID: String, after seq: Int64 = 0, limit: Int = 1000) async throws -> [JobEvent] {
        try await read { db in
            _ = try Self.fetchJob(db, id: jobID)
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM job_event WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [jobID, seq, max(limit, 1)]
            )
            return try rows.map(Self.decodeEvent)
        }
    }

    /// The files a job produced, by name.
    public func artifacts(jobID: String) async throws -> [JobArtifact] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM job_artifact WHERE job_id = ? ORDER BY name",
                arguments: [jobID]
            )
            return try rows.map { row in
                JobArtifact(
                    name: try row.decode(String.self, forColumn: "name"),
                    relativePath: try row.decode(String.self, forColumn: "relative_path"),
                    size: try row.decode(Int.self, forColumn: "size"),
                    sha256: try row.decode(String.self, forColumn: "sha256"),
                    mediaType: try row.decode(String.self, forColumn: "media_type")
                )
            }
        }
    }

    // MARK: - Transitions

    /// Applies `event` to a job inside a write transaction: runs the state machine, writes the new state
    /// and the columns the action implies, and records the change as an event.
    func apply(
        _ db: Database,
        jobID: String,
        event: JobStateMachine.Event,
        reason: String
    ) throws -> (job: Job, action: JobStateMachine.Action) {
        try Self.apply(db, jobID: jobID, event: event, reason: reason, now: configuration.now())
    }

    static func apply(
        _ db: Database,
        jobID: String,
        event: JobStateMachine.Event,
        reason: String,
        now: Date
    ) throws -> (job: Job, action: JobStateMachine.Action) {
        let job = try fetchJob(db, id: jobID)
        var machine = job.machine
        let action: JobStateMachine.Action
        do {
            action = try machine.handle(event)
        } catch {
            throw JobStoreError(.invalidTransition, "job \(jobID): \(error.reason)", cause: error)
        }
        try db.execute(
            sql: "UPDATE job SET state = ?, attempt = ?, cancel_requested = ? WHERE id = ?",
            arguments: [machine.state.rawValue, machine.attempt, machine.cancelRequested, jobID]
        )
        var failure: JobFailure?
        switch action {
        case .startWork:
            try db.execute(
                sql: """
                    UPDATE job SET started_at = ?, finished_at = NULL, progress = NULL,
                        error_code = NULL, error_message = NULL WHERE id = ?
                    """,
                arguments: [now, jobID]
            )
        case .recordFinish(_, let recorded):
            failure = recorded
            try db.execute(
                sql: "UPDATE job SET finished_at = ?, error_code = ?, error_message = ? WHERE id = ?",
                arguments: [now, recorded?.code, recorded?.message, jobID]
            )
        case .stopWork:
            _ = try appendEvent(
                db,
                jobID: jobID,
                time: now,
                payload: .log(.init(level: .info, message: "cancellation requested: \(reason)"))
            )
        case .none, .enqueue, .awaitRecovery:
            break
        }
        if machine.state != job.state {
            let change = JobEvent.StateChange(
                from: job.state,
                to: machine.state,
                attempt: machine.attempt,
                reason: failure.map { "\(reason): \($0.message)" } ?? reason,
                failure: failure
            )
            _ = try appendEvent(db, jobID: jobID, time: now, payload: .stateChange(change))
        }
        return (try fetchJob(db, id: jobID), action)
    }

    // MARK: - Rows

    static func appendEvent(_ db: Database, jobID: String, time: Date, payload: JobEvent.Payload) throws -> Int64 {
        let last =
            try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM job_event WHERE job_id = ?", arguments: [jobID]) ?? 0
        let seq = last + 1
        try db.execute(
            sql: "INSERT INTO job_event (job_id, seq, time, kind, payload) VALUES (?, ?, ?, ?, ?)",
            arguments: [jobID, seq, time, payload.kind, try json(payload)]
        )
        return seq
    }

    static func fetchJob(_ db: Database, id: String) throws -> Job {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]) else {
            throw JobStoreError(.notFound, "there is no job \(id); list jobs with `rkdctl jobs`")
        }
        return try decodeJob(row)
    }

    static func decodeJob(_ row: Row) throws -> Job {
        let id = try row.decode(String.self, forColumn: "id")
        let kindName = try row.decode(String.self, forColumn: "kind")
        let stateName = try row.decode(String.self, forColumn: "state")
        guard let kind = JobKind(rawValue: kindName), let state = JobState(rawValue: stateName) else {
            throw JobStoreError(
                .incompatibleDatabase,
                "job \(id) has kind '\(kindName)' and state '\(stateName)', which this version of rkd does not know"
            )
        }
        let spec: JobSpec
        let progress: JobProgress?
        do {
            spec = try JobSpec(kind: kind, json: Data(try row.decode(String.self, forColumn: "spec").utf8))
            progress = try (try row.decode(String?.self, forColumn: "progress")).map {
                try JSONDecoder().decode(JobProgress.self, from: Data($0.utf8))
            }
        } catch {
            throw JobStoreError(
                .incompatibleDatabase,
                "the stored spec or progress of job \(id) cannot be read by this version of rkd",
                cause: error
            )
        }
        let failure: JobFailure? =
            if let code = try row.decode(String?.self, forColumn: "error_code") {
                JobFailure(code: code, message: try row.decode(String?.self, forColumn: "error_message") ?? "")
            } else {
                nil
            }
        return Job(
            id: id,
            ownerUID: try row.decode(UInt32.self, forColumn: "owner_uid"),
            spec: spec,
            modelDigest: try row.decode(String?.self, forColumn: "model_digest"),
            requestID: try row.decode(String?.self, forColumn: "request_id"),
            machine: JobStateMachine(
                state: state,
                attempt: try row.decode(Int.self, forColumn: "attempt"),
                cancelRequested: try row.decode(Bool.self, forColumn: "cancel_requested")
            ),
            progress: progress,
            failure: failure,
            createdAt: try row.decode(Date.self, forColumn: "created_at"),
            startedAt: try row.decode(Date?.self, forColumn: "started_at"),
            finishedAt: try row.decode(Date?.self, forColumn: "finished_at")
        )
    }

    static func decodeEvent(_ row: Row) throws -> JobEvent {
        let jobID = try row.decode(String.self, forColumn: "job_id")
        let seq = try row.decode(Int64.self, forColumn: "seq")
        let payload: JobEvent.Payload
        do {
            payload = try JSONDecoder().decode(
                JobEvent.Payload.self,
                from: Data(try row.decode(String.self, forColumn: "payload").utf8)
            )
        } catch {
            throw JobStoreError(
                .incompatibleDatabase,
                "event \(seq) of job \(jobID) cannot be read by this version of rkd",
                cause: error
            )
        }
        return JobEvent(jobID: jobID, seq: seq, time: try row.decode(Date.self, forColumn: "time"), payload: payload)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: - Database access

    /// Runs `body` in a write transaction; errors other than ``JobStoreError`` become `database` errors.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError(.database, "writing the job database failed; check free space", cause: error)
        }
    }

    /// Runs `body` on a read-only connection; errors other than ``JobStoreError`` become `database` errors.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError(.database, "reading the job database failed", cause: error)
        }
    }
}
