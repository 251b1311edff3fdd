import Foundation
import Jobs
import Logging

/// rkdd's start-up after its flags are parsed: settings from the defaults, the configuration file and
/// the flags, the logger, then ``Daemon/run()``. `rkdd` and the test fixture `rkdd-testjobs` both call
/// it, so they start and stop alike.
public enum DaemonLauncher {
    /// The command-line flags that select settings (`rkdd --help` documents them).
    public struct Options: Sendable {
        /// `--user`: a per-user daemon.
        public var user = false
        /// `--config`: a JSON settings file.
        public var config: String?
        /// `--socket`: the Unix socket to bind when not socket-activated.
        public var socket: String?
        /// `--state-directory`: the job database and stored models.
        public var stateDirectory: String?
        /// `--log-level`.
        public var logLevel: String?

        public init(
            user: Bool = false,
            config: String? = nil,
            socket: String? = nil,
            stateDirectory: String? = nil,
            logLevel: String? = nil
        ) {
            self.user = user
            self.config = config
            self.socket = socket
            self.stateDirectory = stateDirectory
            self.logLevel = logLevel
        }
    }

    /// The executors rkdd registers: one for every job kind.
    public static func standardExecutors() -> [JobKind: any JobExecutor] {
        [.audit: AuditExecutor(), .harden: HardenExecutor(), .teacherTraining: TeacherTrainingExecutor()]
    }

    /// Resolves the settings and serves until SIGTERM or SIGINT.
    /// - Parameters:
    ///   - identifier: the syslog identifier of the log lines.
    ///   - executors: the job kinds the daemon runs.
    /// - Returns: the exit status: 0 after a clean stop, 1 when the daemon cannot start or fails (the
    ///   message, logged at `critical`, says what to fix).
    public static func run(
        _ options: Options,
        identifier: String = "rkdd",
        executors: [JobKind: any JobExecutor] = [:]
    ) async -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let mode: DaemonConfiguration.Mode = options.user ? .user : .system
        var logger = Logger(label: identifier) { label in SystemdLogHandler(label: label, identifier: identifier) }
        do {
            var settings = try DaemonConfiguration.defaults(for: mode, environment: environment)
            if let config = options.config {
                settings = try settings.overlaid(withFile: URL(fileURLWithPath: config))
            } else if mode == .system, FileManager.default.fileExists(atPath: "/etc/rkd/rkdd.conf") {
                settings = try settings.overlaid(withFile: URL(fileURLWithPath: "/etc/rkd/rkdd.conf"))
            }
            if let socket = options.socket { settings.socketPath = absolute(socket) }
            if let stateDirectory = options.stateDirectory { settings.stateDirectory = absolute(stateDirectory) }
            if let logLevel = options.logLevel { settings.logLevel = logLevel }
            try settings.validate(source: "flags")
            logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
            logger.info(
                "rkdd starting",
                metadata: ["mode": "\(mode.rawValue)", "state": "\(settings.stateDirectory)"]
            )
            try await Daemon(configuration: settings, mode: mode, logger: logger, executors: executors).run()
            return 0
        } catch let error as DaemonError {
            logger.critical("rkdd cannot start: \(error.message)")
            return 1
        } catch {
            logger.critical("rkdd failed: \(error)")
            return 1
        }
    }

    /// A path made absolute against the working directory.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
