import ArgumentParser

/// `rkdctl jobs`: list, show, watch and cancel the daemon's jobs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, show, watch and cancel jobs; download their artifacts.",
        discussion: """
            A job belongs to the user who submitted it; root sees and may cancel every job. Jobs do not \
            depend on rkdctl: leaving `jobs watch` (Ctrl-C) does not stop the job, `jobs cancel` does.
            """,
        subcommands: [
            JobsListCommand.self,
            JobsShowCommand.self,
            JobsWatchCommand.self,
            JobsCancelCommand.self,
            JobsDownloadCommand.self,
        ]
    )
}
