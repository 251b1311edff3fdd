import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import TensorEngine

/// The `rkd.v1.Daemon` service. Each handler reads the caller's credentials (put into the metadata
/// by ``PeerCredentials``), converts errors once at this edge (``RPCErrorMapping``), and keeps jobs
/// out of RPCs: a Submit returns at once, WatchJob only observes.
public struct DaemonService: Rkd_V1_Daemon.ServiceProtocol {
    let context: DaemonContext

    public init(context: DaemonContext) { self.context = context }

    /// The caller's credentials; every request carries them (the transport shim adds them).
    static func caller(_ metadata: Metadata) throws -> PeerCredentials {
        guard let credentials = PeerCredentials(metadata: metadata) else {
            throw RPCError(
                code: .unauthenticated,
                message:
                    "the daemon could not read the caller's credentials (SO_PEERCRED); connect over its Unix socket"
            )
        }
        return credentials
    }

    // MARK: - Jobs

    public func getJob(
        request: ServerRequest<Rkd_V1_GetJobRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            return ServerResponse(
                message: try await ProtoMapping.job(try await job(request.message.jobID), self.context)
            )
        }
    }

    func job(_ id: String) async throws -> Job {
        guard !id.isEmpty else { throw RPCError(code: .invalidArgument, message: "job_id is empty") }
        guard let job = try await context.store.job(id: id) else {
            throw RPCError(code: .notFound, message: "no job '\(id)'; `rkdctl jobs list` shows the jobs")
        }
        return job
    }

    public func listJobs(
        request: ServerRequest<Rkd_V1_ListJobsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListJobsResponse> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let message = request.message
            var filter = JobFilter()
            filter.states = Set(try message.states.map(ProtoMapping.state))
            if message.kind != .unspecified { filter.kind = try ProtoMapping.kind(message.kind) }
            if message.hasOwnerUid { filter.ownerUID = message.ownerUid }
            let pageSize = message.pageSize == 0 ? 50 : Int(min(message.pageSize, 500))
            var cursor: Int64?
            if !message.pageToken.isEmpty {
                guard let value = Int64(message.pageToken) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "page_token '\(message.pageToken)' is not one we issued"
                    )
                }
                cursor = value
            }
            let page = try await self.context.store.jobs(matching: filter, limit: pageSize, after: cursor)
            var response = Rkd_V1_ListJobsResponse()
            for job in page.jobs { response.jobs.append(try await ProtoMapping.job(job, self.context)) }
            response.nextPageToken = page.nextCursor.map(String.init) ?? ""
            return ServerResponse(message: response)
        }
    }

    public func watchJob(
        request: ServerRequest<Rkd_V1_WatchJobRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Rkd_V1_JobEvent> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let id = request.message.jobID
            _ = try await job(id)
            let store = self.context.store
            let start = Int64(clamping: request.message.afterSeq)
            return StreamingServerResponse { writer in
                var seq = start
                while true {
                    let events = try await store.events(jobID: id, after: seq, limit: 500)
                    for event in events {
                        try await writer.write(ProtoMapping.event(event))
                        seq = event.seq
                        if case .stateChange(let change) = event.payload, change.to.isFinal { return [:] }
                    }
                    if events.isEmpty {
                        // The store is the source of truth (events survive restarts); poll it.
                        if context.cancellation.isCancelled || Task.isCancelled {
                            throw RPCError(
                                code: .unavailable,
                                message: "rkdd is shutting down or the call was cancelled; the job goes on: "
                                    + "watch again with after_seq=\(seq)"
                            )
                        }
                        if let job = try await store.job(id: id), job.state.isFinal,
                            try await store.events(jobID: id, after: seq, limit: 1).isEmpty
                        {
                            return [:]
                        }
                        try? await Task.sleep(for: .milliseconds(150))
                    }
                }
            }
        }
    }

    public func cancelJob(
        request: ServerRequest<Rkd_V1_CancelJobRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let job = try await job(request.message.jobID)
            try Authorization.requireOwnerOrRoot(caller, of: job, to: "cancel it")
            if job.state == .cancelled { return ServerResponse(message: try await ProtoMapping.job(job, self.context)) }
            guard !job.state.isFinal else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "job \(job.id) has already \(job.state.rawValue); only queued or running jobs can be cancelled"
                )
            }
            let (cancelled, action) = try await self.context.store.cancel(
                jobID: job.id,
                reason: "cancelled by uid \(caller.uid)"
            )
            // A running job stops at its next check, without waiting for the runner to read the flag.
            if action == .stopWork { self.context.runningJobs.requestStop(jobID: job.id, .cancelled) }
            return ServerResponse(message: try await ProtoMapping.job(cancelled, self.context))
        }
    }

    // MARK: - Catalog and version

    public func getVersion(
        request: ServerRequest<Rkd_V1_GetVersionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_GetVersionResponse> {
        var response = Rkd_V1_GetVersionResponse()
        response.version = DaemonContext.version
        response.apiVersion = "rkd.v1"
        response.commit = BuildInfo.commit
        response.swiftVersion = BuildInfo.swiftVersion
        response.threads = UInt32(EngineThreads.count)
        return ServerResponse(message: response)
    }
}
