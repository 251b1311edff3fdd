import DaemonAPI
import GRPCCore
import Jobs

/// Who may do what (DESIGN.md): the socket's mode and group decide who may connect at all; a job
/// belongs to the uid that submitted it, and only that uid or root may cancel it or read its
/// artifacts; a listing shows a caller other than root only its own jobs (rkd/v1/jobs.proto,
/// `ListJobsRequest.owner_uid`).
enum Authorization {
    static func requireOwnerOrRoot(_ caller: PeerCredentials, of job: Job, to action: String) throws {
        guard caller.uid == 0 || caller.uid == job.ownerUID else {
            throw RPCError(
                code: .permissionDenied,
                message: "job \(job.id) belongs to uid \(job.ownerUID); uid \(caller.uid) may not \(action) "
                    + "(only its owner or root may)"
            )
        }
    }

    /// A ListJobs request as `caller` may make it: root's unchanged; anyone else's limited to their own
    /// jobs, and PERMISSION_DENIED when it asks for another uid's.
    static func scopedListing(
        _ request: Rkd_V1_ListJobsRequest,
        for caller: PeerCredentials
    ) throws
        -> Rkd_V1_ListJobsRequest
    {
        guard caller.uid != 0 else { return request }
        if request.hasOwnerUid && request.ownerUid != caller.uid {
            throw RPCError(
                code: .permissionDenied,
                message: "uid \(caller.uid) may not list the jobs of uid \(request.ownerUid) "
                    + "(only root sees every user's jobs)"
            )
        }
        var scoped = request
        scoped.ownerUid = caller.uid
        return scoped
    }
}

/// Refuses calls that carry no kernel credentials, before any handler runs. The transport shim puts
/// them into every stream that arrives over the Unix socket; a stream without them did not. Also
/// limits a ListJobs call to the jobs its caller may see (``Authorization/scopedListing(_:for:)``).
public struct CredentialsInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let caller = PeerCredentials(metadata: request.metadata) else {
            throw RPCError(
                code: .unauthenticated,
                message: "no caller credentials: rkdd only serves clients on its Unix socket"
            )
        }
        if context.descriptor == Rkd_V1_Daemon.Method.ListJobs.descriptor,
            let listing = request as? StreamingServerRequest<Rkd_V1_ListJobsRequest>
        {
            // ListJobs is unary: its one message is read here and handed on, scoped.
            let single = try await ServerRequest(stream: listing)
            let scoped = StreamingServerRequest(
                single: ServerRequest(
                    metadata: single.metadata,
                    message: try Authorization.scopedListing(single.message, for: caller)
                )
            )
            guard let typed = scoped as? StreamingServerRequest<Input> else {
                throw RPCError(code: .internalError, message: "ListJobs arrived with an unexpected message type")
            }
            return try await next(typed, context)
        }
        return try await next(request, context)
    }
}
