/// An error importing or running an ONNX model: what is wrong, where, and what to do about it.
public struct ONNXError: Error, CustomStringConvertible, Sendable {
    /// The kind of problem; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The bytes are not a well-formed ONNX ModelProto (or are truncated).
        public static let malformed = Code(name: "malformed")
        /// A size limit was exceeded before anything large was allocated.
        public static let limitExceeded = Code(name: "limitExceeded")
        /// An operator, attribute value or data type that rkd does not support.
        public static let unsupported = Code(name: "unsupported")
        /// The graph is inconsistent: a missing input, a cycle, a wrong tensor size.
        public static let invalidGraph = Code(name: "invalidGraph")
        /// Inputs given at run time do not fit the graph.
        public static let invalidInput = Code(name: "invalidInput")
        /// The file could not be read.
        public static let io = Code(name: "io")
    }

    public var code: Code
    /// What went wrong and how to fix it.
    public var message: String
    /// The node concerned, if any.
    public var node: String?

    public init(_ code: Code, _ message: String, node: String? = nil) {
        self.code = code
        self.message = message
        self.node = node
    }

    public var description: String {
        node.map { "\(code): node '\($0)': \(message)" } ?? "\(code): \(message)"
    }
}
