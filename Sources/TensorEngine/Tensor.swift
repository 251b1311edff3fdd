/// A dense, row-major (NCHW for images) array of `Float` with value semantics.
///
/// Storage is a Swift array, so copies are cheap until one side writes (copy on write).
/// A tensor may carry a node of the autodiff tape (`node`): ops that see such an input while
/// recording (see ``GradientMode``) attach a node to their output, so `gradient(of:wrt:)` can walk
/// back. Shape errors are programmer errors and trap with a message that names the shapes;
/// user data is validated before it reaches the engine (ONNX importer, job specs).
public struct Tensor: Sendable {
    /// The extent of each axis, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public let scalars: [Float]
    /// The tape node that produced this value, or `nil` for a constant.
    let node: GradNode?

    /// Creates a tensor from its elements in row-major order.
    /// - Precondition: `scalars.count` equals the product of `shape`, and no extent is negative.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)"
        )
        self.shape = shape
        self.scalars = scalars
        self.node = nil
    }

    init(shape: [Int], scalars: [Float], node: GradNode?) {
        self.shape = shape
        self.scalars = scalars
        self.node = node
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// The number of axes.
    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { scalars.count }

    /// The single element of a tensor with one element.
    /// - Precondition: `count == 1`.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: shape \(shape) has \(count) elements")
        return scalars[0]
    }

    /// Whether this value is tracked by the autodiff tape.
    public var isTracked: Bool { node != nil }

    /// The same values, detached from the tape (a constant).
    public var detached: Tensor { Tensor(shape: shape, scalars: scalars, node: nil) }

    /// The same values as a new leaf of the tape: `gradient(of:wrt:)` can differentiate with respect to it.
    public func tracked() -> Tensor {
        Tensor(shape: shape, scalars: scalars, node: GradNode(leafShape: shape))
    }

    /// The element at a multi-index.
    /// - Precondition: the index has one entry per axis, each in range.
    public subscript(_ index: Int...) -> Float {
        scalars[flatIndex(index)]
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for axis in 0..<rank {
            precondition(index[axis] >= 0 && index[axis] < shape[axis], "Tensor: index \(index) out of \(shape)")
            flat = flat * shape[axis] + index[axis]
        }
        return flat
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

/// Row-major strides of a shape (elements, not bytes).
@inlinable
public func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// Resolves a possibly negative axis against a rank.
/// - Precondition: `-rank <= axis < rank`.
@inlinable
public func normalizedAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}
