import ArgumentParser
import DaemonAPI
import Foundation
import GRPCCore
import SwiftProtobuf

/// `rkdctl jobs watch ID`: follows a job until it ends (WatchJob), re-attaching when the daemon restarts.
struct JobsWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow a job's progress until it ends.",
        discussion: """
            Replays the job's events so far, then follows new ones: a progress bar on a terminal, plain \
            lines otherwise, one JSON object per line with --json. When the daemon goes away (a restart), \
            rkdctl re-attaches where it left off, up to 5 times. Ctrl-C stops watching, not the job. \
            Exit status: 0 when the job succeeds, 1 when it fails or is cancelled.
            """
    )

    @Argument(help: ArgumentHelp("The job's id, or enough of its start to name one job.", valueName: "id"))
    var id: String

    @Flag(help: "Print one JSON object per event (JSON Lines) instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        try await JobFollower.follow(try await daemon.jobID(id), daemon: daemon, json: json)
    }
}
