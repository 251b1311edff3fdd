import Foundation
import Jobs
import Logging

/// What the RPC handlers and the job runner share: settings, the job store and the artifact store.
public final class DaemonContext: Sendable {
    public let configuration: DaemonConfiguration
    public let store: JobStore
    public let artifacts: ArtifactStore
    public let logger: Logger
    /// The daemon's version, as GetVersion reports it.
    public static let version = "0.1.0"

    public init(configuration: DaemonConfiguration, store: JobStore, artifacts: ArtifactStore, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.artifacts = artifacts
        self.logger = logger
    }
}
