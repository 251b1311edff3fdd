import Datasets
import Foundation
import Jobs
import Logging

/// What the RPC handlers and the job runner share: settings, the job store and the artifact store, the
/// job executors and the jobs running now.
public final class DaemonContext: Sendable {
    public let configuration: DaemonConfiguration
    public let store: JobStore
    public let artifacts: ArtifactStore
    /// The stored teachers (`teachers/` in the state directory).
    public let teachers: TeacherStore
    public let logger: Logger
    /// The work code of each job kind this daemon runs; Submit RPCs of other kinds answer UNIMPLEMENTED.
    public let executors: [JobKind: any JobExecutor]
    /// The data sets this machine has (ListDatasets; jobs load their examples from it).
    public let datasets: DatasetCatalog
    /// The jobs the runner executes now; CancelJob signals them through it.
    let runningJobs = RunningJobs()
    /// The daemon's version, as GetVersion reports it.
    public static let version = "0.1.0"

    public init(
        configuration: DaemonConfiguration,
        store: JobStore,
        artifacts: ArtifactStore,
        teachers: TeacherStore,
        logger: Logger,
        executors: [JobKind: any JobExecutor] = [:],
        datasets: DatasetCatalog = DaemonContext.defaultDatasets
    ) {
        self.configuration = configuration
        self.store = store
        self.artifacts = artifacts
        self.teachers = teachers
        self.logger = logger
        self.executors = executors
        self.datasets = datasets
    }

    /// The catalog without configuration: Fashion-MNIST where Debian's dataset-fashion-mnist installs it.
    public static let defaultDatasets: DatasetCatalog = {
        do {
            return try DatasetCatalog()
        } catch {
            preconditionFailure("the built-in data set catalog is invalid: \(error)")
        }
    }()
}
