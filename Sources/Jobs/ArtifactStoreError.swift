#if canImport(Glibc)
import Glibc
#endif

/// Why the artifact store could not store or read a file: a code to map to a gRPC status, a message
/// that says what to do, and the system error number when there is one.
public struct ArtifactStoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, extensible like a string enum.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable identifier.
        public let rawValue: String

        /// A code from its identifier.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file system is full (ENOSPC) or over quota (EDQUOT).
        public static let noSpace = Code("noSpace")
        /// The daemon may not write there (EACCES, EPERM, EROFS).
        public static let permissionDenied = Code("permissionDenied")
        /// An upload exceeded the size limit.
        public static let tooLarge = Code("tooLarge")
        /// The bytes do not hash to the digest the client announced.
        public static let digestMismatch = Code("digestMismatch")
        /// No such stored file.
        public static let notFound = Code("notFound")
        /// A name or digest that cannot name a stored file.
        public static let invalidName = Code("invalidName")
        /// A teacher manifest that cannot be read or misses what a teacher must state.
        public static let invalidManifest = Code("invalidManifest")
        /// A name that is already taken (a teacher stored under it).
        public static let alreadyExists = Code("alreadyExists")
        /// Any other file-system failure.
        public static let io = Code("io")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong and what to do.
    public var message: String
    /// The system error number, when a system call failed.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// The error for a failed system call: `operation` (e.g. "write") on `path` failed with `number`.
    /// Full disks and permission problems get their own codes and say what to do.
    public init(operation: String, path: String, errno number: Int32) {
        let reason = String(cString: strerror(number))
        switch number {
        case ENOSPC, EDQUOT:
            self.init(
                .noSpace,
                "cannot \(operation) \(path): \(reason); free space on the file system that holds the state "
                    + "directory (e.g. delete old jobs' reports and checkpoints) and try again; nothing was stored",
                errno: number
            )
        case EACCES, EPERM, EROFS:
            self.init(
                .permissionDenied,
                "cannot \(operation) \(path): \(reason); the daemon's user must own the state directory and be "
                    + "able to write it (systemd: StateDirectory=rkd; user mode: $XDG_STATE_HOME/rkd)",
                errno: number
            )
        default:
            self.init(.io, "cannot \(operation) \(path): \(reason)", errno: number)
        }
    }

    public var description: String { "artifact store error [\(code)]: \(message)" }
}
