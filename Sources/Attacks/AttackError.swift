/// Why an attack could not run: a configuration it does not accept or a model it cannot attack.
/// The message says what to change.
public struct AttackError: Error, CustomStringConvertible, Sendable {
    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        /// A setting out of range (steps, budget, restarts) or one the norm does not allow.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The model has too few classes for the attack's loss.
        public static let tooFewClasses = Code(name: "tooFewClasses")
        /// The model's output is not (batch, classes) or the batch does not fit it.
        public static let modelOutput = Code(name: "modelOutput")

        public var description: String { name }
    }

    /// What kind of failure.
    public let code: Code
    /// What is wrong and how to fix it.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
