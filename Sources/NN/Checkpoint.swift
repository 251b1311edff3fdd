import TensorEngine

/// A snapshot of a training run: named parameters and buffers, optimizer state, the random
/// generator, the position in training and free-form metadata.
///
/// Restoring a checkpoint into a model with the same architecture and continuing gives the same
/// numbers, bit for bit, as the run that wrote it. The file format is in ``Checkpoint/encoded()``;
/// files are written atomically (``Checkpoint/write(to:)``) and every read is validated
/// (``Checkpoint/read(from:)``).
public struct Checkpoint: Sendable {
    /// Parameter values by dotted name.
    public var parameters: [String: Tensor]
    /// Buffer values (running statistics) by dotted name.
    public var buffers: [String: Tensor]
    /// The optimizer's state, if saved.
    public var optimizer: OptimizerState?
    /// The random generator driving data order and augmentation, if saved.
    public var rng: RandomGenerator?
    /// The number of optimizer steps taken.
    public var step: Int
    /// The number of completed epochs.
    public var epoch: Int
    /// Free-form annotations (recipe, data set, seed, …).
    public var metadata: [String: String]

    /// A checkpoint from its parts.
    public init(
        parameters: [String: Tensor] = [:],
        buffers: [String: Tensor] = [:],
        optimizer: OptimizerState? = nil,
        rng: RandomGenerator? = nil,
        step: Int = 0,
        epoch: Int = 0,
        metadata: [String: String] = [:]
    ) {
        self.parameters = parameters.mapValues(\.detached)
        self.buffers = buffers.mapValues(\.detached)
        self.optimizer = optimizer
        self.rng = rng
        self.step = step
        self.epoch = epoch
        self.metadata = metadata
    }

    /// A snapshot of `model`'s current parameters and buffers, with the rest of the run's state.
    /// - Precondition: the model's parameter names are unique, and so are its buffer names.
    public init(
        model: any ParameterContainer,
        optimizer: OptimizerState? = nil,
        rng: RandomGenerator? = nil,
        step: Int = 0,
        epoch: Int = 0,
        metadata: [String: String] = [:]
    ) {
        let parameters = model.parameters
        let buffers = model.buffers
        precondition(Set(parameters.map(\.name)).count == parameters.count, "Checkpoint: duplicate parameter names")
        precondition(Set(buffers.map(\.name)).count == buffers.count, "Checkpoint: duplicate buffer names")
        self.init(
            parameters: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) }),
            buffers: Dictionary(uniqueKeysWithValues: buffers.map { ($0.name, $0.value) }),
            optimizer: optimizer,
            rng: rng,
            step: step,
            epoch: epoch,
            metadata: metadata
        )
    }

    /// Copies the stored parameters and buffers into `model`.
    ///
    /// The model must have exactly the checkpoint's names with the same shapes; everything is
    /// checked before anything is assigned, so on error the model is unchanged.
    /// - Throws: ``CheckpointError`` with code `modelMismatch`, listing what is missing, extra or
    ///   of the wrong shape.
    public func restore(into model: any ParameterContainer) throws {
        let targetParameters = model.parameters
        let targetBuffers = model.buffers
        var problems: [String] = []
        problems += Self.compare(
            kind: "parameter",
            stored: parameters,
            model: targetParameters.map { ($0.name, $0.shape) }
        )
        problems += Self.compare(kind: "buffer", stored: buffers, model: targetBuffers.map { ($0.name, $0.shape) })
        guard problems.isEmpty else {
            let shown = problems.prefix(8).joined(separator: "; ")
            let more = problems.count > 8 ? "; and \(problems.count - 8) more" : ""
            throw CheckpointError(
                .modelMismatch,
                "the checkpoint does not fit the model: \(shown)\(more); load it into the architecture it was saved from"
            )
        }
        for p in targetParameters {
            if let value = parameters[p.name] { p.value = value }
        }
        for b in targetBuffers {
            if let value = buffers[b.name] { b.value = value }
        }
    }

    /// The differences between stored tensors and a model's (name, shape) list, as messages.
    private static func compare(kind: String, stored: [String: Tensor], model: [(String, [Int])]) -> [String] {
        var problems: [String] = []
        var seen = Set<String>()
        for (name, shape) in model {
            guard seen.insert(name).inserted else {
                problems.append("the model has two \(kind)s named '\(name)'")
                continue
            }
            guard let value = stored[name] else {
                problems.append("\(kind) '\(name)' \(shape) is missing from the checkpoint")
                continue
            }
            if value.shape != shape {
                problems.append("\(kind) '\(name)' is \(value.shape) in the checkpoint but \(shape) in the model")
            }
        }
        for name in stored.keys.sorted() where !seen.contains(name) {
            problems.append("the checkpoint has \(kind) '\(name)', which the model does not")
        }
        return problems
    }
}
