/// Something that owns parameters and buffers: a layer or a whole model.
///
/// Both lists are flat, in a fixed order (the order of construction), and every entry carries its
/// dotted name. Optimizers key their state by those names and checkpoints store them, so names
/// must be unique within a model.
public protocol ParameterContainer: AnyObject {
    /// The trainable tensors, recursively, in a fixed order.
    var parameters: [Parameter] { get }
    /// The non-trainable state (running statistics), recursively, in a fixed order.
    var buffers: [Buffer] { get }
}

extension ParameterContainer {
    /// The total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// The parameter with the given dotted name, if any.
    public func parameter(named name: String) -> Parameter? {
        parameters.first { $0.name == name }
    }

    /// The buffer with the given dotted name, if any.
    public func buffer(named name: String) -> Buffer? {
        buffers.first { $0.name == name }
    }

    /// Prefixes every parameter and buffer name with `prefix` and a dot.
    ///
    /// Containers call this on each child once, when they are built: children are built before
    /// their parent, so names grow from the leaf up into full dotted paths. A layer therefore
    /// belongs to exactly one container.
    public func qualifyNames(under prefix: String) {
        for p in parameters { p.name = "\(prefix).\(p.name)" }
        for b in buffers { b.name = "\(prefix).\(b.name)" }
    }
}
