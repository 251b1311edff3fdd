#if canImport(Glibc)
import Glibc
#endif

/// Why a data set could not be listed, read or selected: a code to map to a gRPC status, a message
/// that says what is wrong and what to do, the file concerned and the system error number when there is one.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure, extensible like a string enum.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable identifier.
        public let rawValue: String

        /// A code from its identifier.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// No data set of that name in the catalog.
        public static let unknownDataset = Code("unknownDataset")
        /// A file the data set needs is not there (the message names it and the package to install).
        public static let missingFile = Code("missingFile")
        /// The file could not be opened or read.
        public static let io = Code("io")
        /// The bytes are not in the expected format (bad magic, bad CRC, inconsistent header).
        public static let corrupt = Code("corrupt")
        /// The data ends before the format says it should.
        public static let truncated = Code("truncated")
        /// The data (or what it decompresses to) is larger than the configured limit.
        public static let tooLarge = Code("tooLarge")
        /// A valid file of a kind rkd does not read (e.g. a float IDX file).
        public static let unsupported = Code("unsupported")
        /// A selection that cannot be made: unknown classes, a bad batch size, a bad configuration.
        public static let invalidArgument = Code("invalidArgument")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong and what to do.
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?
    /// The system error number, when a system call failed.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// The error for a failed system call: `operation` (e.g. "open") on `path` failed with `number`.
    init(operation: String, path: String, errno number: Int32) {
        let reason = String(cString: strerror(number))
        self.init(.io, "cannot \(operation) \(path): \(reason)", path: path, errno: number)
    }

    public var description: String { "data set error [\(code)]: \(message)" }
}
