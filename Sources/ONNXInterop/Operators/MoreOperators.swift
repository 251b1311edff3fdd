import Foundation
import TensorEngine

/// Activations composed from engine ops, variadic elementwise ops, reductions, Cast, Slice, Expand
/// and ConstantOfShape.
enum MoreOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        (
            "Elu",
            { c in
                let x = try c.tensor(0)
                let alpha = c.float("alpha", default: 1)
                return [.float(relu(x) + minimum(exp(x) - 1, Tensor(0)) * alpha)]
            }
        ),
        (
            "Selu",
            { c in
                let x = try c.tensor(0)
                let alpha = c.float("alpha", default: 1.67326319217681884765625)
                let gamma = c.float("gamma", default: 1.05070102214813232421875)
                return [.float((relu(x) + minimum(exp(x) - 1, Tensor(0)) * alpha) * gamma)]
            }
        ),
        (
            "HardSigmoid",
            { c in
                let x = try c.tensor(0)
                return [
                    .float(clip(x * c.float("alpha", default: 0.2) + c.float("beta", default: 0.5), min: 0, max: 1))
                ]
            }
        ),
        (
            "HardSwish",
            { c in
                let x = try c.tensor(0)
                return [.float(x * clip(x * (1 / 6) + 0.5, min: 0, max: 1))]
            }
        ),
        (
            "PRelu",
            { c in
                let x = try c.tensor(0)
                var slope = try c.tensor(1)
                // Before opset 7 a (C) slope applies along the channel axis (legacy broadcasting).
                if c.opset < 7 && slope.rank == 1 && x.rank >= 2 && slope.shape[0] == x.shape[1] && slope.shape[0] != 1
                {
                    slope = slope.reshaped([1, x.shape[1]] + [Int](repeating: 1, count: x.rank - 2))
                }
                guard Kernels.broadcastShape(x.shape, slope.shape) == x.shape else {
                    throw c.error(.invalidGraph, "slope \(slope.shape) does not broadcast to \(x.shape)")
                }
                return [.float(relu(x) - relu(-x) * slope)]
            }
        ),
        ("Min", variadic { minimum($0, $1) }),
        ("Max", variadic { maximum($0, $1) }),
        ("Sum", variadic { $0 + $1 }),
        (
            "Mean",
            { c in
                let total = try variadic { $0 + $1 }(c)[0].asTensor
                return [.float(total / Float(c.inputs.count))]
            }
        ),
        ("ReduceMean", reduce { $0.mean(axes: $1, keepDims: $2) }),
        ("ReduceSum", reduce { $0.sum(axes: $1, keepDims: $2) }),
        ("ReduceMax", reduce { $0.max(axes: $1, keepDims: $2) }),
        ("Cast", cast),
        ("Slice", sliceOperator),
        ("Expand", expand),
        ("ConstantOfShape", constantOfShape),
    ]

    static func variadic(_ f: @escaping @Sendable (Tensor, Tensor) -> Tensor) -> OperatorRegistry.Implementation {
        { c in
            let parts = try c.inputs.indices.map { try c.tensor($0) }
            guard var result = parts.first else { throw c.error(.invalidGraph, "no inputs") }
            for p in parts.dropFirst() {
                guard let shape = Kernels.broadcastShape(result.shape, p.shape) else {
                    throw c.error(.invalidGraph, "shapes \(result.shape) and \(p.shape) do not broadcast")
                }
                _ = try c.limits.checkedCount(shape, "the broadcast of \(result.shape) and \(p.shape)", node: c.name)
                result = f(result, p)
            }
            return [.float(result)]
        }
    }

    /// Reductions: axes are an attribute before opset 18 (13 for ReduceSum), an input after.
    static func reduce(_ f: @escaping @Sendable (Tensor, [Int]?, Bool) -> Tensor) -> OperatorRegistry.Implementation {
        { c in
            let x = try c.tensor(0)
            let inputVersion = c.node.opType == "ReduceSum" ? 13 : 18
            var axes =
                c.opset >= inputVersion
                ? try c.optionalInput(1).map { try $0.asInts("axes", node: c.name) } : c.ints("axes")
            if axes?.isEmpty == true { axes = nil }
            if axes == nil && c.int("noop_with_empty_axes", default: 0) == 1 { return [.float(x)] }
            for a in axes ?? [] where a < -x.rank || a >= x.rank {
                throw c.error(.invalidGraph, "axis \(a) for shape \(x.shape)")
            }
            if x.count == 0 { throw c.error(.unsupported, "reduction of an empty tensor") }
            return [.float(f(x, axes, c.int("keepdims", default: 1) == 1))]
        }
    }

    /// Cast to the float types (float16 rounds), the signed integer types and uint8 (toward zero), and
    /// bool (0 or 1; NaN is true, as C++ and NumPy have it).
    static func cast(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let to = c.int("to", default: 0)
        if let type = Onnx_TensorProto.DataType(rawValue: to), let range = integerRanges[type] {
            // ONNX leaves out-of-range conversions undefined; rkd saturates to the type's range
            // (NaN becomes 0), and integers already in range pass through exactly.
            if case .int(let shape, let values) = x {
                return [.int(shape: shape, values: values.map { min(max($0, range.lowerBound), range.upperBound) })]
            }
            let t = x.asTensor
            let low = Float(range.lowerBound)
            let high = Float(range.upperBound)
            return [
                .int(
                    shape: t.shape,
                    values: t.scalars.map { v in
                        if v.isNaN { return 0 }
                        if v <= low { return range.lowerBound }
                        if v >= high { return range.upperBound }
                        return Int(v.rounded(.towardZero))
                    }
                )
            ]
        }
        switch Onnx_TensorProto.DataType(rawValue: to) {
        case .float, .double:
            return [.float(x.asTensor)]
        case .float16:
            let t = x.asTensor
            return [.float(Tensor(shape: t.shape, scalars: t.scalars.map { Float(Float16($0)) }))]
        case .bool:
            if case .int(let shape, let values) = x {
                return [.int(shape: shape, values: values.map { $0 != 0 ? 1 : 0 })]
            }
            let t = x.asTensor
            return [.int(shape: t.shape, values: t.scalars.map { $0 != 0 ? 1 : 0 })]
        case .undefined:
            throw c.error(.invalidGraph, "Cast has no 'to' data type")
        case let type?:
            throw c.error(
                .unsupported,
                "Cast to \(String(describing: type).uppercased()) (data type \(to)) is not supported; rkd casts to "
                    + "FLOAT, DOUBLE, FLOAT16, INT8/16/32/64, UINT8 and BOOL"
            )
        case nil:
            throw c.error(.invalidGraph, "Cast to data type \(to), which is not an ONNX data type")
        }
    }

    /// The integer data types Cast produces, with their ranges.
    static let integerRanges: [Onnx_TensorProto.DataType: ClosedRange<Int>] = [
        .int64: Int.min...Int.max, .int32: Int(Int32.min)...Int(Int32.max), .int16: Int(Int16.min)...Int(Int16.max),
        .int8: Int(Int8.min)...Int(Int8.max), .uint8: 0...Int(UInt8.max),
    ]

    /// Slice (opset 10+: starts/ends/axes/steps inputs; before: attributes), ONNX clamping rules.
    static func sliceOperator(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let shape = x.shape
        let rank = shape.count
        let starts: [Int]
        let ends: [Int]
        var axes: [Int]
        var steps: [Int]
        if c.opset >= 10 {
            starts = try c.input(1).asInts("starts", node: c.name)
            ends = try c.input(2).asInts("ends", node: c.name)
            axes = try c.optionalInput(3).map { try $0.asInts("axes", node: c.name) } ?? Array(0..<starts.count)
            steps =
                try c.optionalInput(4).map { try $0.asInts("steps", node: c.name) }
                ?? [Int](repeating: 1, count: starts.count)
        } else {
            starts = c.ints("starts") ?? []
            ends = c.ints("ends") ?? []
            axes = c.ints("axes") ?? Array(0..<starts.count)
            steps = [Int](repeating: 1, count: starts.count)
        }
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count, !steps.contains(0)
        else {
            throw c.error(.invalidGraph, "starts \(starts), ends \(ends), axes \(axes), steps \(steps)")
        }
        var s = [Int](repeating: 0, count: rank)
        var e = shape
        var st = [Int](repeating: 1, count: rank)
        for k in axes.indices {
            var a = axes[k]
            if a < 0 { a += rank }
            guard a >= 0 && a < rank else { throw c.error(.invalidGraph, "axis \(axes[k]) for shape \(shape)") }
            let d = shape[a]
            var start = starts[k] < 0 ? starts[k] + d : starts[k]
            var end = ends[k] < 0 ? ends[k] + d : ends[k]
            if steps[k] > 0 {
                start = min(max(start, 0), d)
                end = min(max(end, 0), d)
            } else {
                start = min(max(start, -1), d - 1)
                end = min(max(end, -1), d - 1)
            }
            s[a] = start
            e[a] = end
            st[a] = steps[k]
        }
        return [try ShapeOperators.layout(c, x) { $0.sliced(starts: s, ends: e, steps: st) }]
    }

    static func expand(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let target = try c.input(1).asInts("shape", node: c.name)
        guard target.allSatisfy({ $0 >= 0 }) else {
            throw c.error(.invalidGraph, "shape \(target) has a negative extent")
        }
        guard target.count <= c.limits.maximumRank else {
            throw c.error(.limitExceeded, "shape of rank \(target.count), over the limit of \(c.limits.maximumRank)")
        }
        guard let shape = Kernels.broadcastShape(x.shape, target) else {
            throw c.error(.invalidGraph, "shape \(x.shape) does not broadcast with \(target)")
        }
        _ = try c.limits.checkedCount(shape, "the output", node: c.name)
        return [try ShapeOperators.layout(c, x) { $0.broadcast(to: shape) }]
    }

    static func constantOfShape(_ c: NodeContext) throws -> [Value] {
        let shape = try c.input(0).asInts("shape", node: c.name)
        let count = try c.limits.checkedCount(shape, "the output", node: c.name)
        let fill = try c.attribute("value").map { try TensorDecoding.decode($0.t, limits: c.limits) }
        switch fill {
        case .int(_, let v)?:
            return [.int(shape: shape, values: [Int](repeating: v.first ?? 0, count: count))]
        case .float(let t)?:
            return [.float(Tensor(repeating: t.scalars.first ?? 0, shape: shape))]
        case nil:
            return [.float(Tensor(zeros: shape))]
        }
    }
}
