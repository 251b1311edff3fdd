import Jobs
import Synchronization

/// The jobs the runner is executing now, by id: how CancelJob and the daemon's shutdown reach the work
/// at once instead of waiting for the runner's next look at the store.
final class RunningJobs: Sendable {
    private let executions = Mutex<[String: JobExecutionContext]>([:])

    func register(_ execution: JobExecutionContext) {
        executions.withLock { $0[execution.job.id] = execution }
    }

    func unregister(jobID: String) {
        _ = executions.withLock { $0.removeValue(forKey: jobID) }
    }

    /// The ids of the running jobs.
    var jobIDs: [String] { executions.withLock { Array($0.keys) } }

    /// Asks one job's work to stop. Returns whether the job is running here.
    @discardableResult
    func requestStop(jobID: String, _ reason: JobStopReason) -> Bool {
        guard let execution = executions.withLock({ $0[jobID] }) else { return false }
        execution.requestStop(reason)
        return true
    }

    /// Asks every running job's work to stop.
    func requestStopAll(_ reason: JobStopReason) {
        for execution in executions.withLock({ Array($0.values) }) { execution.requestStop(reason) }
    }
}
