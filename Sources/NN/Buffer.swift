import TensorEngine

/// Non-trainable state of a layer that a checkpoint must keep, such as batch-norm running statistics.
///
/// The value is always a constant (never tracked): it is updated by the layer itself, outside
/// the tape.
public final class Buffer {
    /// The dotted path from the model's root, e.g. `bn1.running_mean` (see ``Parameter/name``).
    public var name: String
    /// The fixed shape of the value.
    public let shape: [Int]
    private var storage: Tensor

    /// The current value, a constant.
    /// - Precondition: a new value has the buffer's shape.
    public var value: Tensor {
        get { storage }
        set {
            precondition(newValue.shape == shape, "Buffer \(name): value \(newValue.shape) for shape \(shape)")
            storage = newValue.detached
        }
    }

    /// Creates a buffer holding `value` (detached).
    public init(name: String, value: Tensor) {
        self.name = name
        self.shape = value.shape
        self.storage = value.detached
    }

    /// The number of scalars.
    public var count: Int { shape.reduce(1, *) }
}

extension Buffer: CustomStringConvertible {
    public var description: String { "Buffer(\(name), shape: \(shape))" }
}
