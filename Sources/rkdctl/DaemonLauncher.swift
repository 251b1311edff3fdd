import Foundation
import Glibc

/// Starts a per-user daemon, `rkdd --user`, in the background when no daemon answers, the way a build
/// server is started on first use: detached in a new session, its output in a log file, and waited
/// for until it answers GetVersion.
struct DaemonLauncher {
    let paths: UserDaemonPaths
    let environment: [String: String]

    /// How long to wait for a new daemon to answer.
    static let startTimeout: Duration = .seconds(10)

    /// glibc's POSIX_SPAWN_SETSID (spawn.h), a GNU extension Swift's Glibc module does not import.
    private static let spawnSetSID: Int32 = 0x80

    func start() async throws {
        let executable = try Self.findDaemon(environment: environment)
        try Self.makePrivateDirectory(paths.runtimeDirectory)
        try Self.makePrivateDirectory(paths.stateHome)
        try Self.makePrivateDirectory(paths.stateDirectory)

        // One rkdctl starts the daemon; others wait here, then find it running.
        let lock = open(paths.stateDirectory + "/autostart.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw Self.failure("cannot open \(paths.stateDirectory)/autostart.lock", errno) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw Self.failure("cannot lock the autostart lock", errno) }
        if SocketProbe.probe(paths.socket) == .accepting { return }

        printError(
            "rkdctl: no daemon at \(DaemonEndpoint.systemSocket); starting a per-user rkdd "
                + "(socket \(paths.socket), log \(paths.logFile))"
        )
        let pid = try spawn(executable: executable, arguments: ["--user"])
        try await waitUntilAnswering(pid: pid)
    }

    /// rkdd next to this rkdctl (an installed or a built pair), else the first on PATH.
    static func findDaemon(environment: [String: String]) throws -> String {
        var candidates: [String] = []
        if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("rkdd").path)
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") where directory.hasPrefix("/") {
            candidates.append(directory + "/rkdd")
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CLIError(
                .unreachable,
                "rkdd is not running (no socket at \(DaemonEndpoint.systemSocket)) and no rkdd executable was "
                    + "found next to rkdctl or on PATH to start one; install rkd, or pass --socket"
            )
        }
        return found
    }

    /// Creates a directory with mode 0700 if it is missing; refuses one that is not the caller's own
    /// (a directory in /tmp could have been made by someone else first).
    static func makePrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            if errno == ENOENT {
                let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
                try makePrivateDirectory(parent)
                return try makePrivateDirectory(path)
            }
            throw failure("cannot create \(path)", errno)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw failure("cannot inspect \(path)", errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw CLIError(.unreachable, "cannot start rkdd: \(path) is not a directory")
        }
        guard info.st_uid == getuid() else {
            throw CLIError(.unreachable, "cannot start rkdd: \(path) belongs to uid \(info.st_uid), not to you")
        }
    }

    private func spawn(executable: String, arguments: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, paths.logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Close everything else rkdctl inherited: a daemon holding its caller's pipes or sockets open
        // keeps that caller waiting for an end of file that never comes (a shell's `$(…)`, a test
        // harness's child monitor). A descriptor closed by spawn time is skipped by glibc.
        for descriptor in Self.openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        // A new session: the daemon outlives this rkdctl and the terminal's hang-up and Ctrl-C.
        let flags = Self.spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = paths.daemonEnvironment(from: environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw Self.failure("cannot start \(executable)", result) }
        return pid
    }

    private func waitUntilAnswering(pid: pid_t) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.startTimeout
        while clock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let how =
                    status & 0x7f == 0
                    ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                throw CLIError(
                    .unreachable,
                    "the per-user rkdd \(how) before it answered; its log (\(paths.logFile)) ends with:\n"
                        + Self.tail(of: paths.logFile)
                )
            }
            if SocketProbe.probe(paths.socket) == .accepting,
                (try? await DaemonConnection(socket: paths.socket).version(timeout: .seconds(2))) != nil
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError(
            .unreachable,
            "started rkdd (pid \(pid)), but it did not answer on \(paths.socket) within 10 s; see \(paths.logFile)"
        )
    }

    /// The descriptors this process has open, from /proc/self/fd.
    static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// The last lines of a log file, indented, for an error message.
    static func tail(of path: String, lines: Int = 10) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "  (no log)" }
        let text = String(decoding: data.suffix(8192), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1)
            .filter { !$0.isEmpty }.map { "  " + $0 }.joined(separator: "\n")
    }

    private static func failure(_ what: String, _ code: Int32) -> CLIError {
        CLIError(.unreachable, "\(what): \(SocketProbe.describe(errno: code))")
    }
}
