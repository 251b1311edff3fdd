import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import Jobs
import Logging
import ServiceLifecycle
import UnixSignals

/// rkdd assembled: the state directory (locked), the job and artifact stores, the gRPC server on the
/// Unix socket (inherited from systemd or bound here), the systemd watchdog and the job runner, all in
/// one `ServiceGroup` that SIGTERM/SIGINT shut down gracefully. The group shuts its services down in
/// reverse order, so the runner goes first: the running job checkpoints and is marked `interrupted`
/// before the server stops.
public struct Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let mode: DaemonConfiguration.Mode
    /// The work code of each job kind the daemon runs (``JobRunner``); empty until the job kinds land.
    public let executors: [JobKind: any JobExecutor]
    let logger: Logger

    public init(
        configuration: DaemonConfiguration,
        mode: DaemonConfiguration.Mode,
        logger: Logger,
        executors: [JobKind: any JobExecutor] = [:]
    ) {
        self.configuration = configuration
        self.mode = mode
        self.logger = logger
        self.executors = executors
    }

    /// Serves until SIGTERM or SIGINT; returns after a clean shutdown.
    public func run() async throws {
        let notifier = SystemdNotifier()
        let stateDirectory = URL(fileURLWithPath: configuration.stateDirectory, isDirectory: true)
        do {
            try FileManager.default.createDirectory(
                at: stateDirectory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw DaemonError(
                .storage,
                "cannot create the state directory \(stateDirectory.path): \(error.localizedDescription)"
            )
        }
        let lock = try StateDirectoryLock(directory: stateDirectory)
        let store = try JobStore(
            directory: stateDirectory,
            configuration: JobStore.Configuration(
                maxQueuedJobs: configuration.maxQueuedJobs,
                maxAttempts: configuration.maxAttempts
            )
        )
        if !store.recovery.requeued.isEmpty || !store.recovery.failed.isEmpty {
            logger.notice(
                "recovered jobs left unfinished by the previous run",
                metadata: [
                    "jobs.requeued": "\(store.recovery.requeued)", "jobs.failed": "\(store.recovery.failed)",
                ]
            )
        }
        let artifacts = try ArtifactStore(root: stateDirectory)
        let teachers = try TeacherStore(root: stateDirectory)
        if let bundled = BundledTeachers.directory(configuration) {
            BundledTeachers.install(from: bundled, into: teachers, logger: logger)
        }
        let context = DaemonContext(
            configuration: configuration,
            store: store,
            artifacts: artifacts,
            teachers: teachers,
            logger: logger,
            executors: executors,
            datasets: try configuration.datasetCatalog()
        )

        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        transportConfig.rpc.maxRequestPayloadSize = configuration.maxRequestBytes
        transportConfig.http2.maxConcurrentStreams = configuration.maxConcurrentStreams
        PeerCredentials.install(on: &transportConfig)
        let transport: HTTP2ServerTransport.Posix
        let inherited = try SocketActivation.inheritedListener()
        if let fd = inherited {
            transport = HTTP2ServerTransport.Posix(
                listeningSocketDescriptor: Int(fd),
                transportSecurity: .plaintext,
                config: transportConfig
            )
        } else {
            try Self.prepareSocketDirectory(for: configuration.socketPath, mode: mode)
            transport = HTTP2ServerTransport.Posix(
                address: .unixDomainSocket(path: configuration.socketPath),
                transportSecurity: .plaintext,
                config: transportConfig
            )
        }
        let server = GRPCServer(
            transport: transport,
            services: [DaemonService(context: context)],
            interceptors: [CredentialsInterceptor()]
        )
        let socketPath = configuration.socketPath
        let mode = mode
        let logger = logger
        let announce = AnnounceService {
            let address = try await transport.listeningAddress
            if inherited == nil {
                // The socket's mode would otherwise come from the umask: group rkd for the system
                // daemon, the user alone for a per-user one.
                chmod(socketPath, mode == .system ? 0o660 : 0o600)
            }
            logger.info("rkdd serving", metadata: ["address": "\(address)", "socket.activated": "\(inherited != nil)"])
            notifier.notify(.ready, .status("serving on \(inherited == nil ? socketPath : "\(address)")"))
        }
        let watchdog = WatchdogService(notifier: notifier, store: store, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: GRPCServerService(server: server, notifier: notifier)),
                    .init(service: announce, successTerminationBehavior: .ignore),
                    .init(service: watchdog, successTerminationBehavior: .ignore),
                    // Last, so that it is the first to shut down.
                    .init(
                        service: JobRunner(context: context, status: StatusLine(notifier: notifier)),
                        successTerminationBehavior: .ignore
                    ),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        try await group.run()
        logger.info("rkdd stopped")
        withExtendedLifetime(lock) {}
    }

    /// Creates the socket's directory (a per-user one private to the user).
    static func prepareSocketDirectory(for path: String, mode: DaemonConfiguration.Mode) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: mode == .user ? 0o700 : 0o755]
            )
        } catch {
            throw DaemonError(
                .socket,
                "cannot create the socket directory \(directory.path): \(error.localizedDescription)"
            )
        }
    }
}

/// Serves gRPC until the group shuts down, then stops accepting and lets calls finish.
struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let notifier: SystemdNotifier

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            notifier.notify(.stopping, .status("stopping"))
            server.beginGracefulShutdown()
        }
    }
}

/// Runs a one-off start-up action (READY=1 once the socket listens).
struct AnnounceService: Service {
    let action: @Sendable () async throws -> Void

    init(_ action: @escaping @Sendable () async throws -> Void) { self.action = action }

    func run() async throws { try await action() }
}

/// Sends WATCHDOG=1 at half the interval systemd asks for, each time only after the job store
/// answered a query, so a wedged database stops the pings and systemd restarts the daemon.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let store: JobStore
    let logger: Logger

    func run() async throws {
        guard let interval = notifier.watchdogInterval else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await store.jobs(limit: 1)
                notifier.notify(.watchdog)
            } catch {
                logger.error("job store health check failed; not pinging the watchdog", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
