import ArgumentParser
import DaemonAPI
import SwiftProtobuf

/// `rkdctl jobs list`: the jobs the caller may see, newest first (ListJobs).
struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, newest first.",
        discussion: """
            Root sees every user's jobs, others their own. Without --all only the newest 50 are listed.
            """
    )

    @Option(
        help: ArgumentHelp("Only jobs in this state; repeat for several.", valueName: "state")
    )
    var state: [JobStateArgument] = []

    @Option(help: ArgumentHelp("Only jobs of this kind.", valueName: "kind"))
    var kind: JobKindArgument?

    @Flag(help: "List every matching job, not only the newest 50.")
    var all = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    /// The page size, and without --all the number of jobs listed.
    static let pageSize: UInt32 = 50

    struct Output: Encodable {
        var jobs: [JobJSON]
        /// True when more jobs match than were listed (without --all).
        var truncated: Bool
    }

    func run() async throws {
        let daemon = try await global.daemon()
        let states = state.map(\.state)
        let kind = kind?.kind ?? .unspecified
        let all = all
        let (jobs, more) = try await daemon.run { client in
            try await client.jobs(states: states, kind: kind, pageSize: Self.pageSize, all: all)
        }
        if json {
            try JSONOutput.print(Output(jobs: jobs.map(JobJSON.init), truncated: more))
            return
        }
        if jobs.isEmpty {
            printLine("no jobs")
            return
        }
        var rows = [["ID", "KIND", "STATE", "PROGRESS", "CREATED", "MODEL"]]
        for job in jobs {
            rows.append([
                job.id, job.kind.name, job.state.name,
                JobText.progress(job.hasProgress ? job.progress : nil),
                job.hasCreatedAt ? job.createdAt.local : "-",
                job.modelDigest.isEmpty ? "-" : String(job.modelDigest.prefix(12)),
            ])
        }
        for line in columns(rows) { printLine(line) }
        if more { printError("(the newest \(Self.pageSize) jobs; --all lists every one)") }
    }
}
