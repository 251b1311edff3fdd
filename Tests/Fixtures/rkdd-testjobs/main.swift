// rkdd-testjobs: a TEST FIXTURE, not a product. It runs the real daemon (the same start-up code as
// rkdd, `DaemonLauncher.run`) with one executor registered for audit jobs: `CountdownExecutor`, which
// does not audit anything. It exists so that the job runner's machinery (queueing, progress,
// cancellation, checkpoints, SIGTERM and crash recovery) can be tested end to end over the real
// socket without real work. It registers the audit kind only, so SubmitHarden and
// SubmitTeacherTraining answer UNIMPLEMENTED here. Built by `swift build --build-tests`; used by
// Tests/DaemonCoreTests/JobRunnerTests.swift and CrashRecoveryTests.swift.
//
// Flags: the same as rkdd's `--socket`, `--state-directory`, `--config`, `--log-level` and `--user`.
import DaemonCore
import Foundation
import Jobs

#if canImport(Glibc)
import Glibc
#endif

var options = DaemonLauncher.Options()
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--user" {
        options.user = true
        continue
    }
    guard let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("rkdd-testjobs: \(flag) needs a value\n".utf8))
        exit(64)
    }
    switch flag {
    case "--socket": options.socket = value
    case "--state-directory": options.stateDirectory = value
    case "--config": options.config = value
    case "--log-level": options.logLevel = value
    default:
        FileHandle.standardError.write(
            Data(
                "rkdd-testjobs: unknown flag \(flag); it takes rkdd's --socket, --state-directory, --config, --log-level, --user\n"
                    .utf8
            )
        )
        exit(64)
    }
}
let status = await DaemonLauncher.run(
    options,
    identifier: "rkdd-testjobs",
    executors: [.audit: CountdownExecutor()]
)
exit(status)
