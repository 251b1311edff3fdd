/// A job spec with a field out of range: which field, and what would be valid.
public struct JobSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field's path in the request, in the proto's spelling, e.g. `spec.epsilons[1]`.
    public var field: String
    /// What is wrong with it and what to write instead.
    public var message: String

    /// Creates the error.
    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field) \(message)" }

    static func requirePositive(_ value: Float, field: String) throws(JobSpecError) {
        guard value.isFinite, value > 0 else {
            throw JobSpecError(field: field, "must be a finite number greater than 0, not \(value)")
        }
    }
}
