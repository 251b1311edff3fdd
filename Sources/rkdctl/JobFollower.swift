import DaemonAPI
import Foundation
import GRPCCore
import SwiftProtobuf

/// Follows a job until it ends (WatchJob), re-attaching when the daemon restarts; shared by
/// `rkdctl jobs watch` and the commands that wait for their job (`rkdctl audit`).
enum JobFollower {
    /// How many times in a row to re-attach after the daemon went away.
    static let reattachLimit = 5

    /// Renders the job's events (a progress bar on a terminal, plain lines otherwise, JSON Lines with
    /// `json`, nothing with `silent`) until it ends; returns the final job when it succeeded and throws
    /// ``CLIError`` `.failure` when it failed or was cancelled.
    @discardableResult
    static func follow(
        _ id: String,
        daemon: DaemonConnection,
        json: Bool = false,
        silent: Bool = false
    ) async throws
        -> Rkd_V1_Job
    {
        let renderer = WatchRenderer(
            mode: silent ? .silent : json ? .json : standardOutputIsTerminal ? .terminal : .lines
        )
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
        switch job.state {
        case .succeeded:
            if !json && !silent { printLine("job \(job.id) succeeded") }
            return job
        case .failed:
            let reason = job.hasError ? "\(job.error.code): \(job.error.message)" : "no error recorded"
            throw CLIError(.failure, "job \(job.id) failed: \(reason)")
        default:
            throw CLIError(.failure, "job \(job.id) was \(job.state.name)")
        }
    }
}
