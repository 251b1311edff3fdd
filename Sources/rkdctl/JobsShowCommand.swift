import ArgumentParser
import DaemonAPI
import SwiftProtobuf

/// `rkdctl jobs show ID`: one job in full (GetJob).
struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one job: state, progress, error, spec and artifacts."
    )

    @Argument(help: ArgumentHelp("The job's id, or enough of its start to name one job.", valueName: "id"))
    var id: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        let id = try await daemon.jobID(id)
        let job = try await daemon.run { client in try await client.getJob(.with { $0.jobID = id }) }
        if json {
            try JSONOutput.print(JobJSON(job))
        } else {
            for line in JobText.details(job) { printLine(line) }
        }
    }
}
