import ArgumentParser
import Foundation
import GRPCCore
import Glibc

/// rkdctl: the command-line client of rkdd. Each subcommand lives in its own file; this one only
/// dispatches and turns errors into the documented exit statuses.
@main
struct RKDCtl: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "rkdctl",
        abstract: "Talk to rkdd, the rkd daemon: audit, inspect and run ONNX classifiers, follow jobs.",
        discussion: """
            Every subcommand talks gRPC to rkdd over a Unix socket: --socket PATH, else $RKD_SOCKET, else \
            the system daemon at /run/rkd/rkd.sock. When neither is given and nothing answers there, rkdctl \
            starts a per-user daemon (`rkdd --user`, socket $XDG_RUNTIME_DIR/rkd/rkd.sock, log \
            $XDG_STATE_HOME/rkd/rkdd.log) and uses it; --no-autostart turns that off.

            With --json, output is JSON with snake_case keys (see the README); `jobs watch --json` prints \
            one event per line.

            Exit status:
              0  success
              1  the operation failed: a job failed or was cancelled, the model
                 cannot run, or another daemon error (shown with its gRPC code)
              2  usage error: unknown or missing flags and arguments
              3  the daemon is unreachable
              4  permission denied (the socket or the daemon refused you)
              5  not found: an unknown job or model, a missing file
              6  invalid input: the daemon refused a request field, or a file is
                 not what the command needs
              7  a limit was hit: upload size, queue length
              8  audit verdict FAIL: a robust accuracy is below --fail-under
            """,
        version: version,
        subcommands: [
            AuditCommand.self,
            ReportCommand.self,
            InspectCommand.self,
            PredictCommand.self,
            HardenCommand.self,
            TeacherCommand.self,
            JobsCommand.self,
            VersionCommand.self,
        ]
    )

    /// Parsed here too, so that `rkdctl --socket PATH jobs list` works as well as `rkdctl jobs list
    /// --socket PATH`: ArgumentParser hands values given before the subcommand to its own option group.
    @OptionGroup var global: GlobalOptions

    /// ArgumentParser's own `main`, with usage errors exiting 2 (not EX_USAGE, 64) and rkdctl's errors
    /// exiting with their documented status.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            printError("rkdctl: \(error.message)")
            Glibc.exit(error.status.rawValue)
        } catch let error as RPCError {
            printError("rkdctl: rkdd answered \(CLIError.name(of: error.code)): \(error.message)")
            Glibc.exit(ExitStatus.failure.rawValue)
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Glibc.exit(ExitStatus.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}
