import Foundation
import TensorEngine

/// Comparisons, logic, selection and the index operators (Where, Range, Size, Tile, GatherElements,
/// Floor/Ceil/Round). Booleans are integer values 0 and 1. Float results stay differentiable where the
/// operator is (Where, Tile, GatherElements); comparisons, rounding and logic have zero derivative,
/// so their results are constants.
enum LogicOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("Equal", compare { $0 == $1 }),
        ("Less", compare { $0 < $1 }),
        ("Greater", compare { $0 > $1 }),
        ("LessOrEqual", compare { $0 <= $1 }),
        ("GreaterOrEqual", compare { $0 >= $1 }),
        ("And", logic { $0 && $1 }),
        ("Or", logic { $0 || $1 }),
        ("Xor", logic { $0 != $1 }),
        ("Not", not),
        ("Where", whereOperator),
        ("Floor", rounding(Foundation.floor)),
        ("Ceil", rounding(Foundation.ceil)),
        ("Round", rounding { $0.rounded(.toNearestOrEven) }),
        ("Size", { c in [.int(shape: [], values: [try c.input(0).shape.reduce(1, *)])] }),
        ("Range", range),
        ("Tile", tile),
        ("GatherElements", gatherElements),
        ("Reciprocal", { c in [.float(1 / (try c.tensor(0)))] }),
        ("Mod", mod),
    ]

    /// Both inputs broadcast to their common shape, as Doubles (exact for integers below 2⁵³).
    static func broadcastPair(_ c: NodeContext) throws -> (shape: [Int], a: [Double], b: [Double]) {
        let a = try c.input(0)
        let b = try c.input(1)
        guard let shape = Kernels.broadcastShape(a.shape, b.shape) else {
            throw c.error(.invalidGraph, "shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        _ = try c.limits.checkedCount(shape, "the broadcast of \(a.shape) and \(b.shape)", node: c.name)
        func values(_ v: Value) throws -> [Double] {
            switch v {
            case .int:
                try ShapeOperators.layout(c, v) { $0.broadcast(to: shape) }.asInts("input", node: c.name).map(
                    Double.init
                )
            case .float(let t): t.broadcast(to: shape).scalars.map(Double.init)
            }
        }
        return (shape, try values(a), try values(b))
    }

    static func compare(_ f: @escaping @Sendable (Double, Double) -> Bool) -> OperatorRegistry.Implementation {
        { c in
            let (shape, a, b) = try broadcastPair(c)
            return [.int(shape: shape, values: zip(a, b).map { f($0, $1) ? 1 : 0 })]
        }
    }

    static func logic(_ f: @escaping @Sendable (Bool, Bool) -> Bool) -> OperatorRegistry.Implementation {
        { c in
            let (shape, a, b) = try broadcastPair(c)
            return [.int(shape: shape, values: zip(a, b).map { f($0 != 0, $1 != 0) ? 1 : 0 })]
        }
    }

    /// Mod: integers exactly, the sign of the divisor (fmod = 0, Python's %) or of the dividend
    /// (fmod = 1, C's fmod); floats need fmod = 1. Piecewise linear with jumps, so the result is a
    /// constant (it serves shape arithmetic).
    static func mod(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["fmod"])
        let truncated = c.int("fmod", default: 0) == 1
        let a = try c.input(0)
        let b = try c.input(1)
        let (shape, x, y) = try broadcastPair(c)
        if a.isInt && b.isInt {
            var values: [Int] = []
            values.reserveCapacity(x.count)
            for (p, q) in zip(x, y) {
                let (dividend, divisor) = (Int(p), Int(q))
                guard divisor != 0 else { throw c.error(.invalidGraph, "integer Mod by zero") }
                let r = dividend % divisor
                values.append(truncated || r == 0 || (r < 0) == (divisor < 0) ? r : r + divisor)
            }
            return [.int(shape: shape, values: values)]
        }
        guard truncated else {
            throw c.error(.invalidGraph, "Mod of floating-point values needs fmod = 1 (ONNX's rule)")
        }
        return [.float(Tensor(shape: shape, scalars: zip(x, y).map { Float(Foundation.fmod($0, $1)) }))]
    }

    static func not(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let values = try x.asInts("X", node: c.name)
        return [.int(shape: x.shape, values: values.map { $0 == 0 ? 1 : 0 })]
    }

    /// Floor, Ceil, Round (half to even): piecewise constant, so the result is a constant.
    static func rounding(_ f: @escaping @Sendable (Double) -> Double) -> OperatorRegistry.Implementation {
        { c in
            let x = try c.tensor(0)
            return [.float(Tensor(shape: x.shape, scalars: x.scalars.map { Float(f(Double($0))) }))]
        }
    }

    /// Where(condition, X, Y): X where the condition holds, else Y, all three broadcast. Floats are
    /// selected by a gather from X and Y (so a −∞ in the branch not taken does not poison the result
    /// or its gradient); integers exactly.
    static func whereOperator(_ c: NodeContext) throws -> [Value] {
        let condition = try c.input(0)
        let x = try c.input(1)
        let y = try c.input(2)
        guard let xy = Kernels.broadcastShape(x.shape, y.shape), let shape = Kernels.broadcastShape(condition.shape, xy)
        else {
            throw c.error(.invalidGraph, "shapes \(condition.shape), \(x.shape) and \(y.shape) do not broadcast")
        }
        let count = try c.limits.checkedCount(shape, "the broadcast of Where's inputs", node: c.name)
        let mask = try ShapeOperators.layout(c, condition) { $0.broadcast(to: shape) }.asInts("condition", node: c.name)
        if x.isInt && y.isInt {
            let xs = try ShapeOperators.layout(c, x) { $0.broadcast(to: shape) }.asInts("X", node: c.name)
            let ys = try ShapeOperators.layout(c, y) { $0.broadcast(to: shape) }.asInts("Y", node: c.name)
            return [.int(shape: shape, values: (0..<count).map { mask[$0] != 0 ? xs[$0] : ys[$0] })]
        }
        let both = concat(
            [x.asTensor.broadcast(to: shape).flattened(axis: 0), y.asTensor.broadcast(to: shape).flattened(axis: 0)],
            axis: 0
        )
        let indices = (0..<count).map { Int32(mask[$0] != 0 ? $0 : count + $0) }
        return [.float(both.reshaped([2 * count]).gatherFlat(indices: indices, shape: shape))]
    }

    /// Range(start, limit, delta): ⌈(limit − start)/delta⌉ values (at least 0), integers exactly.
    static func range(_ c: NodeContext) throws -> [Value] {
        let inputs = try (0..<3).map { try c.input($0) }
        guard inputs.allSatisfy({ $0.shape.reduce(1, *) == 1 }) else {
            throw c.error(.invalidGraph, "start, limit and delta must be scalars")
        }
        if inputs.allSatisfy(\.isInt) {
            let (start, limit, delta) = try (
                inputs[0].asInts("start", node: c.name)[0], inputs[1].asInts("limit", node: c.name)[0],
                inputs[2].asInts("delta", node: c.name)[0]
            )
            guard delta != 0 else { throw c.error(.invalidGraph, "delta is 0") }
            let span = Double(limit) - Double(start)
            let count = max(Int((span / Double(delta)).rounded(.up)), 0)
            _ = try c.limits.checkedCount([count], "Range's output", node: c.name)
            return [.int(shape: [count], values: (0..<count).map { start + $0 * delta })]
        }
        let (start, limit, delta) = (
            inputs[0].asTensor.scalars[0], inputs[1].asTensor.scalars[0], inputs[2].asTensor.scalars[0]
        )
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else {
            throw c.error(.invalidGraph, "start \(start), limit \(limit), delta \(delta)")
        }
        let count = max(Int(((Double(limit) - Double(start)) / Double(delta)).rounded(.up)), 0)
        _ = try c.limits.checkedCount([count], "Range's output", node: c.name)
        return [.float(Tensor(shape: [count], scalars: (0..<count).map { start + Float($0) * delta }))]
    }

    /// Tile(input, repeats): the input repeated along each axis (concatenations, so differentiable).
    static func tile(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let repeats = try c.input(1).asInts("repeats", node: c.name)
        guard repeats.count == x.shape.count, repeats.allSatisfy({ $0 >= 0 }) else {
            throw c.error(.invalidGraph, "repeats \(repeats) for an input of shape \(x.shape)")
        }
        _ = try c.limits.checkedCount(zip(x.shape, repeats).map { $0 * $1 }, "Tile's output", node: c.name)
        return [
            try ShapeOperators.layout(c, x) { t in
                var out = t
                for (axis, r) in repeats.enumerated() where r != 1 {
                    out =
                        r == 0
                        ? out.sliced(
                            starts: out.shape.map { _ in 0 },
                            ends: out.shape.enumerated().map { $0.offset == axis ? 0 : $0.element }
                        )
                        : concat(Array(repeating: out, count: r), axis: axis)
                }
                return out
            }
        ]
    }

    /// GatherElements(data, indices, axis): out[i…] = data[i… with the axis coordinate replaced by
    /// indices[i…]] (negative indices count from the end); a gather, so differentiable in data.
    static func gatherElements(_ c: NodeContext) throws -> [Value] {
        let data = try c.input(0)
        let index = try c.input(1)
        let indices = try index.asInts("indices", node: c.name)
        let rank = data.shape.count
        var axis = c.int("axis", default: 0)
        guard axis >= -rank && axis < rank, index.shape.count == rank else {
            throw c.error(.invalidGraph, "axis \(axis), data \(data.shape) and indices \(index.shape)")
        }
        if axis < 0 { axis += rank }
        for (d, (i, s)) in zip(index.shape, data.shape).enumerated() where d != axis && i > s {
            throw c.error(.invalidGraph, "indices \(index.shape) exceed data \(data.shape) on axis \(d)")
        }
        let strides = contiguousStrides(data.shape)
        let outStrides = contiguousStrides(index.shape)
        var flat: [Int32] = []
        flat.reserveCapacity(indices.count)
        for (position, value) in indices.enumerated() {
            let extent = data.shape[axis]
            guard value >= -extent && value < extent else {
                throw c.error(.invalidGraph, "index \(value) is out of range for axis \(axis) of size \(extent)")
            }
            var rest = position
            var offset = 0
            for d in 0..<rank {
                let coordinate = rest / max(outStrides[d], 1)
                rest %= max(outStrides[d], 1)
                offset += (d == axis ? (value < 0 ? value + extent : value) : coordinate) * strides[d]
            }
            flat.append(Int32(offset))
        }
        return [try ShapeOperators.layout(c, data) { $0.gatherFlat(indices: flat, shape: index.shape) }]
    }
}
