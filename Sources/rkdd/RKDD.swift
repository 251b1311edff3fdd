import ArgumentParser
import DaemonCore

@main
struct RKDD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rkdd",
        abstract: "The rkd daemon: audits and hardens ONNX image classifiers for clients on a Unix socket.",
        discussion: """
            System mode (the default) is meant to be started by systemd: rkdd.socket hands over the \
            listening socket /run/rkd/rkd.sock, state lives in /var/lib/rkd, and settings come from \
            /etc/rkd/rkdd.conf (JSON; every key optional). Without socket activation rkdd binds the \
            socket itself.

            User mode (--user) needs no systemd: the socket is $XDG_RUNTIME_DIR/rkd/rkd.sock and state \
            lives in $XDG_STATE_HOME/rkd (~/.local/state/rkd). rkdctl starts one for you when no daemon \
            answers.

            SIGTERM or SIGINT stop it cleanly. Exit status: 0 after a clean stop, 1 on a start-up error \
            (the message says what to fix), 64 on bad flags.
            """
    )

    @Flag(name: .long, help: "Run a per-user daemon (socket and state under your XDG directories).")
    var user = false

    @Option(name: .long, help: "A JSON settings file (system mode default: /etc/rkd/rkdd.conf when it exists).")
    var config: String?

    @Option(name: .long, help: "The Unix socket to bind when not socket-activated.")
    var socket: String?

    @Option(name: .long, help: "The directory for the job database and stored models.")
    var stateDirectory: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func run() async throws {
        let options = DaemonLauncher.Options(
            user: user,
            config: config,
            socket: socket,
            stateDirectory: stateDirectory,
            logLevel: logLevel
        )
        let status = await DaemonLauncher.run(options, executors: DaemonLauncher.standardExecutors())
        if status != 0 { throw ExitCode(status) }
    }
}
