import Datasets
import Foundation
import Jobs
import Logging
import ONNXInterop
import Synchronization

/// What a ``JobExecutor`` gets for one run of one job: the job, its model, checkpoints, progress and
/// log reporting, result files, and the stop signal (cancellation or daemon shutdown).
public final class JobExecutionContext: Sendable {
    /// The job as the store recorded it when the run started (spec, model digest, owner).
    public let job: Job
    /// Which run this is: 1 for the first, more after interruptions.
    public let attempt: Int
    /// The stored model the job works on (audits and hardening), `nil` for jobs without one.
    public let modelURL: URL?
    /// The daemon's logger, with the job's id and model digest as metadata.
    public let logger: Logger

    let store: JobStore
    let artifacts: ArtifactStore
    /// The daemon's data sets (built-in and configured).
    let datasets: DatasetCatalog
    /// The ONNX import limits of the daemon's configuration.
    let importLimits: ImportLimits
    /// The daemon's teacher store.
    let teachers: TeacherStore
    private let stop = Mutex<JobStopReason?>(nil)
    private let pacing: Mutex<ProgressPacing>
    private let onProgress: @Sendable (JobProgress) -> Void

    /// The name of the job's checkpoint file in `checkpoints/<job id>/`.
    public static let checkpointName = "checkpoint"
    /// The shortest interval between two stored progress reports of a job (the first and the last of a
    /// phase are always stored).
    static let progressInterval: Duration = .milliseconds(250)

    init(
        job: Job,
        attempt: Int,
        modelURL: URL?,
        store: JobStore,
        artifacts: ArtifactStore,
        datasets: DatasetCatalog = DaemonContext.defaultDatasets,
        importLimits: ImportLimits = .default,
        teachers: TeacherStore,
        logger: Logger,
        onProgress: @escaping @Sendable (JobProgress) -> Void = { _ in }
    ) {
        self.job = job
        self.attempt = attempt
        self.modelURL = modelURL
        self.store = store
        self.artifacts = artifacts
        self.datasets = datasets
        self.importLimits = importLimits
        self.teachers = teachers
        self.logger = logger
        self.onProgress = onProgress
        pacing = Mutex(ProgressPacing())
    }

    // MARK: - Stopping

    /// Why the job should stop, once it should; `nil` while it may go on.
    public var stopReason: JobStopReason? {
        if let reason = stop.withLock({ $0 }) { return reason }
        return Task.isCancelled ? .shutdown : nil
    }

    /// Throws ``JobStopRequest`` once the owner cancelled the job or the daemon is shutting down (or the
    /// task was cancelled); call it between units of work.
    public func checkStop() throws(JobStopRequest) {
        if let reason = stopReason { throw JobStopRequest(reason: reason) }
    }

    /// Asks the work to stop. A cancellation overrides a shutdown: the owner's wish is final.
    func requestStop(_ reason: JobStopReason) {
        stop.withLock { current in
            if current == nil || reason == .cancelled { current = reason }
        }
    }

    // MARK: - Checkpoints

    /// The bytes the last ``saveCheckpoint(_:name:)`` of this job stored under `name`, in this or an
    /// earlier attempt; `nil` when there is none (a first run, or a restart before the first checkpoint).
    /// A job with several phases keeps one checkpoint per phase, under different names.
    public func loadCheckpoint(name: String = JobExecutionContext.checkpointName) throws -> Data? {
        do {
            return try artifacts.read(.checkpoint(jobID: job.id, name: name))
        } catch {
            if error.code == .notFound { return nil }
            throw error
        }
    }

    /// Stores the job's checkpoint durably (temporary file, fsync, rename, fsync of the directory),
    /// replacing the previous one: after a crash at any moment the job finds either this one or the
    /// previous one whole. Deleted when the job succeeds, fails or is cancelled.
    public func saveCheckpoint(_ bytes: Data, name: String = JobExecutionContext.checkpointName) throws {
        try artifacts.write(bytes, to: .checkpoint(jobID: job.id, name: name))
    }

    // MARK: - Progress, logs, results

    /// Reports how far the current phase has got. The rate (units per second since the phase began in
    /// this attempt) and the time left are computed here; the report is stored (and streamed by
    /// WatchJob) at most every 250 ms, and always at the start and the end of a phase.
    public func reportProgress(phase: String, done: Int, total: Int, unit: String) async throws {
        let now = ContinuousClock.now
        let progress: JobProgress? = pacing.withLock { pacing in
            if pacing.phase != phase {
                pacing = ProgressPacing(phase: phase, phaseStart: now, doneAtStart: done, lastStored: nil)
            }
            let isEdge = pacing.lastStored == nil || (total > 0 && done >= total)
            if !isEdge, let last = pacing.lastStored, now - last < Self.progressInterval { return nil }
            pacing.lastStored = now
            let elapsed = (now - pacing.phaseStart).seconds
            let rate = elapsed > 0 ? Double(done - pacing.doneAtStart) / elapsed : 0
            let eta: Double? = rate > 0 && total > 0 ? Double(max(total - done, 0)) / rate : nil
            return JobProgress(phase: phase, done: done, total: total, unit: unit, rate: max(rate, 0), etaSeconds: eta)
        }
        guard let progress else { return }
        try await store.recordProgress(jobID: job.id, progress)
        onProgress(progress)
    }

    /// Appends a line to the job's log (WatchJob streams it). A failure to store it is logged, not thrown.
    public func log(_ level: JobEvent.LogLine.Level, _ message: String) async {
        do {
            try await store.appendLog(jobID: job.id, JobEvent.LogLine(level: level, message: message))
        } catch {
            logger.warning("cannot store a job log line", metadata: ["error": "\(error)", "line": "\(message)"])
        }
    }

    /// Writes a result file of the job durably (`reports/<job id>/<name>`) and records it with the job,
    /// where GetJob lists it and DownloadArtifact serves it. Writing a name again replaces the file.
    public func writeArtifact(name: String, mediaType: String, _ bytes: Data) async throws {
        let stored = try artifacts.write(bytes, to: .report(jobID: job.id, name: name))
        try await store.recordArtifact(
            jobID: job.id,
            JobArtifact(
                name: name,
                relativePath: stored.relativePath,
                size: stored.size,
                sha256: stored.sha256.hex,
                mediaType: mediaType
            )
        )
    }
}

/// When a job's progress was last stored, and where its current phase began.
struct ProgressPacing {
    var phase: String?
    var phaseStart: ContinuousClock.Instant = .now
    var doneAtStart = 0
    var lastStored: ContinuousClock.Instant?
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
