import TensorEngine

/// A value flowing through an imported graph: float data (differentiable, on the engine) or
/// integer data (shapes, indices, axes — the shape subgraphs PyTorch's exporter emits).
enum Value: Sendable {
    case float(Tensor)
    case int(shape: [Int], values: [Int])

    var shape: [Int] {
        switch self {
        case .float(let t): t.shape
        case .int(let shape, _): shape
        }
    }

    /// The value as floats (integers converted).
    var asTensor: Tensor {
        switch self {
        case .float(let t): t
        case .int(let shape, let values): Tensor(shape: shape, scalars: values.map { Float($0) })
        }
    }

    /// The value as integers; float data must hold whole numbers.
    func asInts(_ context: String, node: String) throws -> [Int] {
        switch self {
        case .int(_, let values): return values
        case .float(let t):
            return try t.scalars.map { v in
                guard v.rounded() == v, abs(v) < 9e15 else {
                    throw ONNXError(.invalidGraph, "\(context) needs integers, got \(v)", node: node)
                }
                return Int(v)
            }
        }
    }

    var isInt: Bool {
        if case .int = self { return true }
        return false
    }
}
