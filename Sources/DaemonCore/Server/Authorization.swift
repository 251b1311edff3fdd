import GRPCCore
import Jobs

/// Who may do what (DESIGN.md): the socket's mode and group decide who may connect at all; a job
/// belongs to the uid that submitted it, and only that uid or root may cancel it or read its
/// artifacts.
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
}

/// Refuses calls that carry no kernel credentials, before any handler runs. The transport shim puts
/// them into every stream that arrives over the Unix socket; a stream without them did not.
public struct CredentialsInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard PeerCredentials(metadata: request.metadata) != nil else {
            throw RPCError(
                code: .unauthenticated,
                message: "no caller credentials: rkdd only serves clients on its Unix socket"
            )
        }
        return try await next(request, context)
    }
}
