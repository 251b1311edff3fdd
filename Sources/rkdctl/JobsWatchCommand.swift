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

    @Argument(help: ArgumentHelp("The job's id.", valueName: "id"))
    var id: String

    @Flag(help: "Print one JSON object per event (JSON Lines) instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    /// How many times in a row to re-attach after the daemon went away.
    static let reattachLimit = 5

    func run() async throws {
        let daemon = try await global.daemon()
        let id = id
        let renderer = WatchRenderer(mode: json ? .json : standardOutputIsTerminal ? .terminal : .lines)
        var failures = 0
        var job: Rkd_V1_Job
        while true {
            let before = renderer.lastSeq
            do {
                job = try await daemon.run { client in
                    try await client.watchJob(
                        .with {
                            $0.jobID = id
                            $0.afterSeq = before
                        }
                    ) { response in
                        for try await event in response.messages { try renderer.handle(event) }
                    }
                    return try await client.getJob(.with { $0.jobID = id })
                }
                if job.state.isFinal { break }
                // The stream ended without the final event (the daemon stopping): watch again.
                throw CLIError(.unreachable, "the event stream ended while job \(id) is \(job.state.name)")
            } catch let error as CLIError where error.status == .unreachable {
                failures = renderer.lastSeq > before ? 1 : failures + 1
                guard failures <= Self.reattachLimit else { throw error }
                renderer.finish()
                let delay = 1 << (failures - 1)
                printError(
                    "rkdctl: \(error.message); re-attaching in \(delay) s (\(failures) of \(Self.reattachLimit))"
                )
                try await Task.sleep(for: .seconds(delay))
            }
        }
        renderer.finish()
        if json { return try exitForFinalState(job, quiet: true) }
        try exitForFinalState(job, quiet: false)
    }

    private func exitForFinalState(_ job: Rkd_V1_Job, quiet: Bool) throws {
        switch job.state {
        case .succeeded:
            if !quiet { printLine("job \(job.id) succeeded") }
        case .failed:
            let reason = job.hasError ? "\(job.error.code): \(job.error.message)" : "no error recorded"
            throw CLIError(.failure, "job \(job.id) failed: \(reason)")
        default:
            throw CLIError(.failure, "job \(job.id) was \(job.state.name)")
        }
    }
}
