/// Why the job store refused or failed an operation: a code to map to a gRPC status, a message that
/// says what to do, and the underlying error when there is one.
public struct JobStoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, extensible like a string enum.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable identifier.
        public let rawValue: String

        /// A code from its identifier.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// No job has the id (NOT_FOUND).
        public static let notFound = Code("notFound")
        /// The queue holds as many jobs as allowed (RESOURCE_EXHAUSTED; retry later).
        public static let queueFull = Code("queueFull")
        /// The spec or another field of the request is invalid (INVALID_ARGUMENT).
        public static let invalidRequest = Code("invalidRequest")
        /// The request id was used before for a different request (INVALID_ARGUMENT).
        public static let requestIDReused = Code("requestIDReused")
        /// The operation does not fit the job's state (FAILED_PRECONDITION).
        public static let invalidTransition = Code("invalidTransition")
        /// The database was written by a newer rkd, or a stored row cannot be read (INTERNAL).
        public static let incompatibleDatabase = Code("incompatibleDatabase")
        /// SQLite or the file system failed (INTERNAL or UNAVAILABLE).
        public static let database = Code("database")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong and what to do.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        let base = "job store error [\(code)]: \(message)"
        return cause.map { "\(base) (cause: \($0))" } ?? base
    }
}
