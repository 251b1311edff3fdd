import GRPCCore
import Glibc

extension CLIError {
    /// The daemon does not answer on `socket`: why, and what to do, from connect(2)'s errno.
    static func unreachable(socket: String, errno code: Int32, detail: String? = nil) -> CLIError {
        let start = "start it with `rkdd --user` or `systemctl start rkdd.socket`"
        switch code {
        case ENOENT, ENOTDIR:
            return CLIError(.unreachable, "rkdd is not running (no socket at \(socket)); \(start)")
        case ECONNREFUSED:
            return CLIError(.unreachable, "rkdd is not running (nothing listens on \(socket)); \(start)")
        case EACCES, EPERM:
            return CLIError(
                .permissionDenied,
                "permission denied on \(socket): add your user to group rkd "
                    + "(`sudo usermod -aG rkd $USER`, then log in again)"
            )
        default:
            let reason = SocketProbe.describe(errno: code)
            return CLIError(
                .unreachable,
                "cannot connect to rkdd at \(socket): \(reason)" + (detail.map { " (\($0))" } ?? "")
            )
        }
    }

    /// A gRPC failure, converted once at this edge to an exit status and a message.
    ///
    /// UNAVAILABLE is told apart by asking the socket directly (see `SocketProbe`): no daemon, no
    /// permission, or a daemon that is there but shutting down.
    init(rpc error: RPCError, socket: String) {
        switch error.code {
        case .unavailable:
            switch SocketProbe.probe(socket) {
            case .failed(let code):
                self = .unreachable(socket: socket, errno: code, detail: error.message)
            case .accepting:
                self.init(.unreachable, "rkdd at \(socket) is unavailable: \(error.message); try again in a moment")
            }
        case .permissionDenied:
            self.init(.permissionDenied, "permission denied: \(error.message)")
        case .unauthenticated:
            self.init(.permissionDenied, "the daemon does not know who you are: \(error.message)")
        case .notFound:
            self.init(.notFound, error.message)
        case .invalidArgument:
            self.init(.invalidInput, error.message)
        case .resourceExhausted:
            self.init(.resourceExhausted, error.message)
        default:
            self.init(.failure, "rkdd answered \(Self.name(of: error.code)): \(error.message)")
        }
    }

    /// The gRPC status code's canonical name, as grpcurl and the proto comments spell it.
    static func name(of code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internalError: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        default: "code \(code.rawValue)"
        }
    }
}
