import ArgumentParser
import DaemonAPI
import SwiftProtobuf

/// `rkdctl jobs cancel ID` (CancelJob).
struct JobsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job.",
        discussion: """
            A queued job is cancelled at once; a running one stops within about a second (follow it with \
            `rkdctl jobs watch ID`). Cancelling a cancelled job changes nothing; a finished one cannot be \
            cancelled (exit status 1).
            """
    )

    @Argument(help: ArgumentHelp("The job's id, or enough of its start to name one job.", valueName: "id"))
    var id: String

    @Flag(help: "Print the job as JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        let id = try await daemon.jobID(id)
        let job = try await daemon.run { client in try await client.cancelJob(.with { $0.jobID = id }) }
        if json {
            try JSONOutput.print(JobJSON(job))
        } else if job.state == .cancelled {
            printLine("job \(job.id): cancelled")
        } else {
            printLine("job \(job.id): cancel requested; it stops within about a second (rkdctl jobs watch \(job.id))")
        }
    }
}
