import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The kernel's word on who is at the other end of a Unix socket connection (SO_PEERCRED).
///
/// grpc-swift-nio-transport 2.9.2 has no API for peer credentials (upstream PR
/// grpc/grpc-swift-nio-transport#192 would add one), so they are read in the transport's channel
/// callbacks: when a connection is accepted, SO_PEERCRED is read and kept on the connection's
/// pipeline (never rejecting there: a closed connection leaves the client hanging); when a stream
/// opens, its first HEADERS frame gets the credentials as metadata, after removing any value the
/// client sent under those names. Handlers and interceptors then trust `PeerCredentials(metadata:)`.
/// Keep this file the only place that knows about the shim.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    static let uidKey = "x-rkd-peer-uid"
    static let gidKey = "x-rkd-peer-gid"
    static let pidKey = "x-rkd-peer-pid"

    /// The credentials the server put into a request's metadata.
    public init?(metadata: Metadata) {
        guard let uid = metadata[stringValues: Self.uidKey].first(where: { _ in true }).flatMap({ UInt32($0) }),
            let gid = metadata[stringValues: Self.gidKey].first(where: { _ in true }).flatMap({ UInt32($0) }),
            let pid = metadata[stringValues: Self.pidKey].first(where: { _ in true }).flatMap({ Int32($0) })
        else { return nil }
        self.init(pid: pid, uid: uid, gid: gid)
    }

    /// Installs the shim's callbacks on a server transport configuration.
    public static func install(on config: inout HTTP2ServerTransport.Posix.Config) {
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            guard let provider = channel as? any SocketOptionProvider else {
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            let credentials: EventLoopFuture<KernelCredentials> = provider.unsafeGetSocketOption(
                level: .socket,
                name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
            )
            return credentials.flatMapThrowing { kernel in
                try channel.pipeline.syncOperations.addHandler(
                    ConnectionCredentials(PeerCredentials(pid: kernel.pid, uid: kernel.uid, gid: kernel.gid))
                )
            }.recover { _ in
                // Not a Unix socket or the read failed: the streams carry no credentials and the
                // authoriser refuses them per call.
            }
        }
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
            stream.eventLoop.makeCompletedFuture {
                let connection = try? stream.parent?.pipeline.syncOperations.handler(type: ConnectionCredentials.self)
                try stream.pipeline.syncOperations.addHandler(
                    StreamCredentialInjector(connection?.credentials),
                    position: .first
                )
            }
        }
    }
}

/// `struct ucred` from <sys/socket.h>.
private struct KernelCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Keeps a connection's credentials on its pipeline, for its streams to find.
private final class ConnectionCredentials: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    let credentials: PeerCredentials

    init(_ credentials: PeerCredentials) { self.credentials = credentials }
}

/// Rewrites a stream's request headers: drops client-sent credential headers, adds the kernel's.
private final class StreamCredentialInjector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    let credentials: PeerCredentials?

    init(_ credentials: PeerCredentials?) { self.credentials = credentials }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        for key in [PeerCredentials.uidKey, PeerCredentials.gidKey, PeerCredentials.pidKey] {
            headers.headers.remove(name: key)
        }
        if let credentials {
            headers.headers.add(name: PeerCredentials.uidKey, value: String(credentials.uid))
            headers.headers.add(name: PeerCredentials.gidKey, value: String(credentials.gid))
            headers.headers.add(name: PeerCredentials.pidKey, value: String(credentials.pid))
        }
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
        // Only the request's first HEADERS frame carries metadata; trailers are left alone.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
