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

    /// A graph input fed as a tensor: an input the graph declares with an integer or bool element
    /// type becomes an integer value (its elements must be whole numbers in the type's range, bools
    /// 0 or 1); any other input stays float.
    static func graphInput(_ x: Tensor, named name: String, elementType: Int32?) throws -> Value {
        guard let type = elementType.flatMap({ Onnx_TensorProto.DataType(rawValue: Int($0)) }) else {
            return .float(x)
        }
        let range: ClosedRange<Int>
        switch type {
        case .int8: range = Int(Int8.min)...Int(Int8.max)
        case .uint8: range = 0...Int(UInt8.max)
        case .int16: range = Int(Int16.min)...Int(Int16.max)
        case .uint16: range = 0...Int(UInt16.max)
        case .int32: range = Int(Int32.min)...Int(Int32.max)
        case .uint32: range = 0...Int(UInt32.max)
        case .int64: range = Int.min...Int.max
        case .uint64: range = 0...Int.max
        case .bool: range = 0...1
        default: return .float(x)
        }
        var values: [Int] = []
        values.reserveCapacity(x.count)
        for v in x.scalars {
            guard let i = Int(exactly: v), range.contains(i) else {
                throw ONNXError(
                    .invalidInput,
                    "input '\(name)' is declared \(String(describing: type).uppercased()) but holds \(v); feed whole "
                        + "numbers in \(range)"
                )
            }
            values.append(i)
        }
        return .int(shape: x.shape, values: values)
    }

    var isInt: Bool {
        if case .int = self { return true }
        return false
    }
}
