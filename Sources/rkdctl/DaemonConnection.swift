import DaemonAPI
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf

/// The generated client over a Unix-socket HTTP/2 transport.
typealias DaemonClient = Rkd_V1_Daemon.Client<HTTP2ClientTransport.Posix>

/// A daemon's socket; `run` opens a gRPC connection for the length of one command.
struct DaemonConnection: Sendable {
    let socket: String

    /// Calls `body` with a client connected to the daemon; every gRPC error leaves as a `CLIError`.
    func run<Result: Sendable>(_ body: (DaemonClient) async throws -> Result) async throws -> Result {
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .unixDomainSocket(path: socket),
                transportSecurity: .plaintext
            )
        } catch {
            throw CLIError(.failure, "cannot set up a connection to \(socket): \(error)")
        }
        do {
            return try await withGRPCClient(transport: transport) { grpc in
                try await body(DaemonClient(wrapping: grpc))
            }
        } catch let error as RPCError {
            throw CLIError(rpc: error, socket: socket)
        }
    }

    /// GetVersion, with a deadline: also how rkdctl checks that a daemon it started answers.
    func version(timeout: Duration) async throws -> Rkd_V1_GetVersionResponse {
        try await run { client in
            var options = CallOptions.defaults
            options.timeout = timeout
            return try await client.getVersion(Rkd_V1_GetVersionRequest(), options: options)
        }
    }
}

/// Call options for a unary call that waits for a model run: no deadline, and responses up to 256 MiB
/// (Predict's logits and gradient for a large batch); the daemon limits what it accepts.
let largeMessageOptions: CallOptions = {
    var options = CallOptions.defaults
    options.maxRequestMessageBytes = 256 << 20
    options.maxResponseMessageBytes = 256 << 20
    return options
}()
