import DaemonAPI
import GRPCCore
import SwiftProtobuf

extension DaemonConnection {
    /// The whole id of the job `id` names: `id` itself when it has a whole id's 36 characters,
    /// otherwise the one job, among those the caller may see, whose id starts with it (as `git`
    /// takes abbreviated hashes), so that `rkdctl jobs show 34a0591e` works.
    /// - Throws: ``CLIError``: the daemon's NOT_FOUND when no job's id starts with it, invalid input
    ///   when several do (naming them).
    func jobID(_ id: String) async throws -> String {
        let whole = 36
        guard id.count < whole, !id.isEmpty else { return id }
        let matches = try await run { client in
            // A job of exactly this id first (ids need not be UUIDs); its NOT_FOUND stands when no
            // job's id starts with `id` either.
            let notFound: RPCError
            do {
                return [try await client.getJob(.with { $0.jobID = id })]
            } catch let error as RPCError where error.code == .notFound {
                notFound = error
            }
            let matches = try await client.jobs(pageSize: 200, all: true).jobs.filter {
                $0.id.hasPrefix(id.lowercased())
            }
            if matches.isEmpty { throw notFound }
            return matches
        }
        switch matches.count {
        case 1:
            return matches[0].id
        default:
            let listed = matches.prefix(5).map { "  \($0.id) (\($0.kind.name), \($0.state.name))" }
            throw CLIError(
                .invalidInput,
                "\(matches.count) jobs' ids start with '\(id)'; give more of the id:\n" + listed.joined(separator: "\n")
            )
        }
    }
}
