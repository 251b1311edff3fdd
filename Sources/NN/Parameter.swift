import TensorEngine

/// A trainable tensor of a model, with its checkpoint name.
///
/// The value is kept as a leaf of the autodiff tape, so a forward pass that reads it can be
/// differentiated with respect to it: `gradient(of: loss, wrt: parameters.map(\.value))`.
/// Assigning an untracked tensor (an optimizer's update, a checkpoint's weights) makes it a fresh
/// leaf. Assigning a tracked tensor keeps it as it is, so a caller can differentiate through the
/// model with respect to a leaf of its own (finite-difference checks, meta-gradients); never assign
/// the output of recorded ops, or every step would chain onto the previous step's tape.
public final class Parameter {
    /// The dotted path from the model's root, e.g. `stage1.block0.conv1.weight`. A layer names its
    /// own parameters locally (`weight`); each container prefixes its children's names when it is
    /// built (see ``ParameterContainer/qualifyNames(under:)``).
    public var name: String
    /// The fixed shape of the value.
    public let shape: [Int]
    private var storage: Tensor

    /// The current value, a tracked leaf.
    /// - Precondition: a new value has the parameter's shape.
    public var value: Tensor {
        get { storage }
        set {
            precondition(newValue.shape == shape, "Parameter \(name): value \(newValue.shape) for shape \(shape)")
            storage = newValue.isTracked ? newValue : newValue.tracked()
        }
    }

    /// Creates a parameter holding `value` (tracked afresh).
    public init(name: String, value: Tensor) {
        self.name = name
        self.shape = value.shape
        self.storage = value.detached.tracked()
    }

    /// The number of scalars.
    public var count: Int { shape.reduce(1, *) }
}

extension Parameter: CustomStringConvertible {
    public var description: String { "Parameter(\(name), shape: \(shape))" }
}
