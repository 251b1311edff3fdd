import DaemonAPI
import SwiftProtobuf

extension DaemonClient {
    /// The jobs ListJobs returns for a filter, newest first: the first page, or with `all` every
    /// page. `more` says whether pages were left unread.
    func jobs(
        states: [Rkd_V1_JobState] = [],
        kind: Rkd_V1_JobKind = .unspecified,
        pageSize: UInt32,
        all: Bool
    ) async throws -> (jobs: [Rkd_V1_Job], more: Bool) {
        var jobs: [Rkd_V1_Job] = []
        var token = ""
        repeat {
            let page = try await listJobs(
                .with {
                    $0.states = states
                    $0.kind = kind
                    $0.pageSize = pageSize
                    $0.pageToken = token
                }
            )
            jobs += page.jobs
            token = page.nextPageToken
        } while all && !token.isEmpty
        return (jobs, !token.isEmpty)
    }
}
