import GRPCCore
import Jobs
import NPY
import ONNXInterop

/// Converts the errors of the layers below into gRPC statuses, once, at the RPC edge (STYLE.md 13).
/// Messages pass through: they already say what is wrong and what to do.
enum RPCErrorMapping {
    static func status(for error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as ONNXError:
            let code: RPCError.Code =
                switch error.code {
                case .limitExceeded: .resourceExhausted
                case .io: .internalError
                default: .invalidArgument
                }
            return RPCError(code: code, message: "the model: \(error.description)")
        case let error as NPYError:
            return RPCError(code: .invalidArgument, message: error.description)
        case let error as JobStoreError:
            let code: RPCError.Code =
                switch error.code {
                case .notFound: .notFound
                case .queueFull: .resourceExhausted
                case .invalidRequest, .requestIDReused: .invalidArgument
                case .invalidTransition: .failedPrecondition
                default: .internalError
                }
            return RPCError(code: code, message: error.message)
        case let error as ArtifactStoreError:
            let code: RPCError.Code =
                switch error.code {
                case .tooLarge: .resourceExhausted
                case .digestMismatch, .invalidName, .invalidManifest: .invalidArgument
                case .alreadyExists: .alreadyExists
                case .notFound: .notFound
                case .noSpace: .resourceExhausted
                default: .internalError
                }
            return RPCError(code: code, message: error.message)
        case let error as DaemonError:
            return RPCError(code: .internalError, message: error.description)
        default:
            return RPCError(code: .internalError, message: "rkdd: \(error)")
        }
    }

    /// Runs `body`, converting any error it throws.
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw status(for: error)
        }
    }
}
