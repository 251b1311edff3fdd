import Foundation
import Jobs
import Logging
import ServiceLifecycle
import TensorEngine

/// Runs queued jobs: a `Service` of the daemon's group that takes the oldest queued job of a kind it
/// has a ``JobExecutor`` for, runs it and records how it ended. `concurrentJobs` workers (1 by default:
/// one compute job at a time) each run one job at a time; jobs of kinds without an executor stay queued.
///
/// - Cancellation: CancelJob flags the job in the store and signals the running work directly
///   (``RunningJobs``); a watcher also reads the store's flag every 250 ms. The executor stops at its next
///   ``JobExecutionContext/checkStop()``, the job ends `cancelled` and its checkpoint is deleted.
/// - Graceful shutdown (SIGTERM, SIGINT): no new job starts; running work is asked to stop, saves its
///   checkpoint and the job is marked `interrupted`; the next start queues it again
///   (``JobStore/recovery``) and the executor resumes from the checkpoint.
/// - Crash: a job left `running` by a dead daemon is queued again at the next start likewise, and
///   resumes from its last periodic checkpoint.
struct JobRunner: Service {
    let context: DaemonContext
    /// Where `STATUS=running job <id> (<phase> done/total)` goes.
    let status: StatusLine
    /// How long an idle worker waits before it looks at the queue again.
    var idlePoll: Duration = .milliseconds(250)
    /// How often a running job's cancellation flag is read from the store.
    var cancellationPoll: Duration = .milliseconds(250)

    func run() async throws {
        let kinds = Set(context.executors.keys)
        guard !kinds.isEmpty else { return }
        let workers = max(context.configuration.concurrentJobs, 1)
        let running = context.runningJobs
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<workers {
                    group.addTask { await self.work(kinds: kinds) }
                }
            }
        } onGracefulShutdown: {
            running.requestStopAll(.shutdown)
        }
    }

    /// One worker: takes jobs until the daemon shuts down.
    func work(kinds: Set<JobKind>) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let next: (job: Job, action: JobStateMachine.Action)?
            do {
                next = try await context.store.startNextJob(kinds: kinds)
            } catch {
                context.logger.error("cannot take a job from the queue", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let next, case .startWork(let attempt) = next.action else {
                try? await Task.sleep(for: idlePoll)
                continue
            }
            await execute(next.job, attempt: attempt)
        }
    }

    /// Runs one job's work and records the outcome.
    func execute(_ job: Job, attempt: Int) async {
        var logger = context.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind.rawValue)"
        if let digest = job.modelDigest { logger[metadataKey: "model.digest"] = "\(digest)" }
        let status = status
        let running = context.runningJobs
        let modelURL = job.modelDigest.flatMap(SHA256Digest.init(hex:)).map(context.artifacts.modelURL(digest:))
        let execution = JobExecutionContext(
            job: job,
            attempt: attempt,
            modelURL: modelURL,
            store: context.store,
            artifacts: context.artifacts,
            datasets: context.datasets,
            importLimits: context.configuration.importLimits,
            teachers: context.teachers,
            logger: logger
        ) { progress in
            status.set("running job \(job.id) (\(progress.phase) \(progress.done)/\(progress.total))")
        }
        running.register(execution)
        defer {
            running.unregister(jobID: job.id)
            if running.jobIDs.isEmpty {
                status.set("idle: waiting for jobs")
                // The engine keeps freed buffers for its next op; between jobs they go back.
                let memory = EngineMemory.returnFreeMemory()
                logger.debug(
                    "returned free memory to the system",
                    metadata: [
                        "memory.resident.before": "\(memory.before)", "memory.resident.after": "\(memory.after)",
                    ]
                )
            }
        }
        // A shutdown that began while the job was being taken from the queue must reach it too.
        if Task.isShuttingDownGracefully { execution.requestStop(.shutdown) }
        status.set("running job \(job.id) (attempt \(attempt))")
        logger.info("job started", metadata: ["job.attempt": "\(attempt)"])

        guard let executor = context.executors[job.kind] else {
            await record(job, .failed(Self.noExecutor(job.kind)), logger: logger)
            return
        }
        let result: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                await self.watchCancellation(of: execution)
                return nil
            }
            group.addTask {
                do {
                    try await executor.run(execution)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            var result: Result<Void, any Error> = .success(())
            for await finished in group {
                if let finished {
                    result = finished
                    group.cancelAll()
                }
            }
            return result
        }

        switch result {
        case .success:
            await record(job, .succeeded, logger: logger)
        case .failure(let error as JobExecutionFailure):
            await record(job, .failed(error.failure), logger: logger)
        case .failure(let error):
            switch execution.stopReason ?? (error as? JobStopRequest)?.reason {
            case .cancelled:
                await record(job, .cancelled, logger: logger)
            case .shutdown:
                await interrupt(job, logger: logger)
            case nil:
                let failure = JobFailure(
                    code: "internal-error",
                    message: "the \(job.kind.rawValue) job stopped with an unexpected error: \(error); "
                        + "check rkdd's log (journalctl -u rkdd) and submit the job again"
                )
                await record(job, .failed(failure), logger: logger)
            }
        }
    }

    /// Reads the job's cancellation flag from the store until the task is cancelled: the path that
    /// catches a cancellation stored while the work was being registered.
    func watchCancellation(of execution: JobExecutionContext) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: cancellationPoll)
            } catch {
                return
            }
            if let job = try? await context.store.job(id: execution.job.id), job.cancelRequested {
                execution.requestStop(.cancelled)
            }
        }
    }

    /// Records a finished run; a final job's checkpoints are deleted.
    func record(_ job: Job, _ outcome: JobStateMachine.Outcome, logger: Logger) async {
        do {
            let finished = try await context.store.finish(jobID: job.id, outcome: outcome)
            switch outcome {
            case .succeeded: logger.info("job succeeded")
            case .cancelled: logger.notice("job cancelled")
            case .failed(let failure): logger.error("job failed", metadata: ["job.error": "\(failure)"])
            }
            if finished.state.isFinal { removeCheckpoints(job, logger: logger) }
        } catch {
            // The job stays `running` in the store; the next start queues it again.
            logger.error("cannot record how the job ended", metadata: ["error": "\(error)"])
        }
    }

    /// Records that the work stopped because the daemon is shutting down.
    func interrupt(_ job: Job, logger: Logger) async {
        do {
            let (interrupted, _) = try await context.store.interrupt(
                jobID: job.id,
                reason: "rkdd is shutting down; the job resumes from its checkpoint after the next start"
            )
            logger.notice("job interrupted by the shutdown", metadata: ["job.state": "\(interrupted.state.rawValue)"])
            if interrupted.state.isFinal { removeCheckpoints(job, logger: logger) }
        } catch {
            logger.error("cannot record the job's interruption", metadata: ["error": "\(error)"])
        }
    }

    func removeCheckpoints(_ job: Job, logger: Logger) {
        do {
            try context.artifacts.removeCheckpoints(jobID: job.id)
        } catch {
            logger.warning("cannot delete the finished job's checkpoints", metadata: ["error": "\(error)"])
        }
    }

    static func noExecutor(_ kind: JobKind) -> JobFailure {
        JobFailure(
            code: "unsupported-job-kind",
            message: "this rkdd cannot run \(kind.rawValue) jobs; upgrade rkdd and submit the job again"
        )
    }
}
