/// Why a checkpoint could not be written, read or applied.
///
/// The message says what is wrong and what to do about it; `cause` keeps the underlying error
/// (a file-system or JSON error) when there is one.
public struct CheckpointError: Error, CustomStringConvertible {
    /// The kind of failure, extensible like a string enum.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable identifier, e.g. `truncated`.
        public let rawValue: String

        /// A code from its identifier.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file does not exist.
        public static let notFound = Code("notFound")
        /// Reading, writing, syncing or renaming failed.
        public static let io = Code("io")
        /// The file does not start with the checkpoint magic.
        public static let notACheckpoint = Code("notACheckpoint")
        /// The file is a checkpoint of a format version this build does not read.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// The file ends before the data its header announces.
        public static let truncated = Code("truncated")
        /// A checksum, the header or the layout of the data is wrong.
        public static let corrupted = Code("corrupted")
        /// The model's parameter or buffer names or shapes differ from the checkpoint's.
        public static let modelMismatch = Code("modelMismatch")
        /// The optimizer state does not fit the optimizer or the model.
        public static let optimizerMismatch = Code("optimizerMismatch")

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
        let base = "checkpoint error [\(code)]: \(message)"
        return cause.map { "\(base) (cause: \($0))" } ?? base
    }
}
