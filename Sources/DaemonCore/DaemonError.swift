/// An error of the daemon's own machinery (configuration, start-up, storage), with a message that
/// says what to do.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A flag, configuration file or environment value is wrong.
        public static let configuration = Code(name: "configuration")
        /// The socket could not be bound or served.
        public static let socket = Code(name: "socket")
        /// The state directory or job store is unusable.
        public static let storage = Code(name: "storage")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
