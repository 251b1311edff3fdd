/// The state an optimizer carries from step to step, as a value a checkpoint can store.
///
/// `slots` holds per-parameter vectors by slot ("momentum" for SGD, "exp_avg" and "exp_avg_sq"
/// for Adam) and then by parameter name; a parameter has no entry until its first step.
public struct OptimizerState: Codable, Sendable, Equatable {
    /// The optimizer it belongs to: "sgd" or "adam".
    public var kind: String
    /// The number of steps taken.
    public var step: Int
    /// Per-parameter vectors: slot name → parameter name → values (the parameter's count).
    public var slots: [String: [String: [Float]]]

    /// Creates a state value.
    public init(kind: String, step: Int, slots: [String: [String: [Float]]]) {
        self.kind = kind
        self.step = step
        self.slots = slots
    }

    /// Checks that this state can drive an optimizer of `kind` with slots `slotNames` over
    /// `parameters`: same kind, known slots, and every entry names a parameter and has its count.
    /// - Throws: ``CheckpointError`` with code `optimizerMismatch`, saying which entry is wrong.
    public func validate(kind expected: String, slotNames: Set<String>, parameters: [Parameter]) throws {
        guard kind == expected else {
            throw CheckpointError(
                .optimizerMismatch,
                "the checkpoint holds \(kind) state but the optimizer is \(expected); "
                    + "resume with the optimizer the run was started with"
            )
        }
        guard step >= 0 else {
            throw CheckpointError(
                .optimizerMismatch,
                "the optimizer step count is negative (\(step)); the file is damaged"
            )
        }
        let counts = Dictionary(parameters.map { ($0.name, $0.count) }, uniquingKeysWith: { first, _ in first })
        for (slot, entries) in slots {
            guard slotNames.contains(slot) else {
                throw CheckpointError(
                    .optimizerMismatch,
                    "\(expected) has no state slot '\(slot)' (it has \(slotNames.sorted())); "
                        + "the checkpoint was written by another optimizer configuration"
                )
            }
            for (name, values) in entries {
                guard let count = counts[name] else {
                    throw CheckpointError(
                        .optimizerMismatch,
                        "optimizer slot '\(slot)' has state for '\(name)', which the model does not have; "
                            + "resume with the same architecture"
                    )
                }
                guard values.count == count else {
                    throw CheckpointError(
                        .optimizerMismatch,
                        "optimizer slot '\(slot)' for '\(name)' has \(values.count) values, the parameter "
                            + "has \(count); resume with the same architecture"
                    )
                }
            }
        }
    }
}
