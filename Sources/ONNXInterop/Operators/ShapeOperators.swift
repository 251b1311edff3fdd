import TensorEngine

/// Shape manipulation and the shape subgraphs exporters emit (Shape → Gather → Unsqueeze → Concat
/// → Reshape): integer values are computed exactly, float values on the engine.
enum ShapeOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("Flatten", flatten),
        ("Reshape", reshape),
        ("Transpose", transpose),
        ("Concat", concatOperator),
        ("Constant", constant),
        ("Shape", shape),
        ("Gather", gather),
        ("Unsqueeze", unsqueeze),
        ("Squeeze", squeeze),
        ("Split", split),
    ]

    /// Applies a layout change (a op whose every output element copies an input element, or is new
    /// padding) to either kind of value. Integers are not sent through the float kernels as values,
    /// which would round them past 2²⁴: the kernels move the element positions 1…n instead (exact
    /// as floats), and each output position then takes the integer it names; a 0 is new padding and
    /// takes `padding`.
    static func layout(_ c: NodeContext, _ v: Value, padding: Int = 0, _ f: (Tensor) -> Tensor) throws -> Value {
        switch v {
        case .float(let t): return .float(f(t))
        case .int(let shape, let values):
            guard values.count < 1 << 24 else {
                throw c.error(
                    .unsupported,
                    "an integer tensor of \(values.count) elements in a layout operator; rkd moves integer tensors "
                        + "of fewer than 2²⁴ elements (shape arithmetic), larger ones only as float"
                )
            }
            let positions = Tensor(shape: shape, scalars: (0..<values.count).map { Float($0 + 1) })
            let moved = f(positions)
            return .int(shape: moved.shape, values: moved.scalars.map { $0 == 0 ? padding : values[Int($0) - 1] })
        }
    }

    static func flatten(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let rank = x.shape.count
        let axis = c.int("axis", default: 1)
        guard axis >= -rank && axis <= rank else { throw c.error(.invalidGraph, "axis \(axis) for shape \(x.shape)") }
        return [try layout(c, x) { $0.flattened(axis: axis < 0 ? axis + rank : axis) }]
    }

    static func reshape(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        guard let requested = try c.intsFromInputOrAttribute(1, "shape") else {
            throw c.error(.invalidGraph, "no target shape")
        }
        guard requested.count <= c.limits.maximumRank else {
            throw c.error(
                .limitExceeded,
                "target shape of rank \(requested.count), over the limit of \(c.limits.maximumRank)"
            )
        }
        let allowZero = c.int("allowzero", default: 0) == 1
        var target = requested.enumerated().map { i, d in (d == 0 && !allowZero && i < x.shape.count) ? x.shape[i] : d }
        let count = x.shape.reduce(1, *)
        let inferred = target.indices.filter { target[$0] == -1 }
        guard inferred.count <= 1, target.allSatisfy({ $0 >= -1 }) else {
            throw c.error(
                .invalidGraph,
                "cannot reshape \(x.shape) to \(requested): one -1 at most, no other negatives"
            )
        }
        // The product of the given extents, without overflow: past `count` it cannot match (a zero
        // extent makes it 0 whatever the others are, which must still be within the element limit).
        let hasZero = target.contains(0)
        let bound = hasZero ? c.limits.maximumTensorElements : max(count, 1)
        var known = 1
        for (i, d) in target.enumerated() where !inferred.contains(i) && d != 0 {
            let (product, overflow) = known.multipliedReportingOverflow(by: d)
            guard !overflow, product <= bound else {
                throw c.error(.invalidGraph, "cannot reshape \(x.shape) (\(count) elements) to \(requested)")
            }
            known = product
        }
        if hasZero { known = 0 }
        if let i = inferred.first {
            guard known > 0, count % known == 0 else {
                throw c.error(.invalidGraph, "cannot reshape \(x.shape) to \(requested)")
            }
            target[i] = count / known
        } else if known != count {
            throw c.error(.invalidGraph, "cannot reshape \(x.shape) (\(count) elements) to \(requested)")
        }
        return [try layout(c, x) { $0.reshaped(target) }]
    }

    static func transpose(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let rank = x.shape.count
        let perm = c.ints("perm") ?? Array((0..<rank).reversed())
        guard perm.sorted() == Array(0..<rank) else {
            throw c.error(.invalidGraph, "perm \(perm) for shape \(x.shape)")
        }
        return [try layout(c, x) { $0.transposed(perm) }]
    }

    static func concatOperator(_ c: NodeContext) throws -> [Value] {
        let parts = try c.inputs.indices.map { try c.input($0) }
        guard let first = parts.first else { throw c.error(.invalidGraph, "no inputs") }
        let rank = first.shape.count
        let axis = c.int("axis", default: 0)
        guard rank > 0, axis >= -rank && axis < rank else {
            throw c.error(.invalidGraph, "axis \(axis) for rank \(rank) (Concat joins tensors of rank 1 or more)")
        }
        let a = axis < 0 ? axis + rank : axis
        for p in parts
        where p.shape.count != rank || p.shape.indices.contains(where: { $0 != a && p.shape[$0] != first.shape[$0] }) {
            throw c.error(.invalidGraph, "shapes \(parts.map(\.shape)) differ off axis \(a)")
        }
        var joined = first.shape
        var extent = 0
        for p in parts {
            let (sum, overflow) = extent.addingReportingOverflow(p.shape[a])
            guard !overflow else {
                throw c.error(.limitExceeded, "the joined extent of \(parts.map(\.shape)) overflows")
            }
            extent = sum
        }
        joined[a] = extent
        _ = try c.limits.checkedCount(joined, "the output", node: c.name)
        if parts.allSatisfy(\.isInt) {
            // Exact: the integers are joined as they are, one block per part along the axis.
            let outer = first.shape[..<a].reduce(1, *)
            var values: [Int] = []
            values.reserveCapacity(joined.reduce(1, *))
            for o in 0..<outer {
                for p in parts {
                    guard case .int(let shape, let v) = p else { continue }
                    let block = shape[a...].reduce(1, *)
                    values.append(contentsOf: v[(o * block)..<((o + 1) * block)])
                }
            }
            return [.int(shape: joined, values: values)]
        }
        return [.float(concat(parts.map(\.asTensor), axis: a))]
    }

    static func constant(_ c: NodeContext) throws -> [Value] {
        if let t = c.attribute("value") { return [try TensorDecoding.decode(t.t, limits: c.limits)] }
        if let a = c.attribute("value_float") { return [.float(Tensor(a.f))] }
        if let a = c.attribute("value_floats") { return [.float(Tensor(shape: [a.floats.count], scalars: a.floats))] }
        if let a = c.attribute("value_int") { return [.int(shape: [], values: [Int(a.i)])] }
        if let a = c.attribute("value_ints") { return [.int(shape: [a.ints.count], values: a.ints.map { Int($0) })] }
        throw c.error(.unsupported, "only value, value_float(s) and value_int(s) constants are supported")
    }

    static func shape(_ c: NodeContext) throws -> [Value] {
        let dims = try c.input(0).shape
        let rank = dims.count
        func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + rank : i, 0), rank) }
        let start = clamp(c.int("start", default: 0))
        let end = clamp(c.int("end", default: rank))
        let slice = start < end ? Array(dims[start..<end]) : []
        return [.int(shape: [slice.count], values: slice)]
    }

    static func gather(_ c: NodeContext) throws -> [Value] {
        let data = try c.input(0)
        let indicesValue = try c.input(1)
        let indices = try indicesValue.asInts("indices", node: c.name)
        let rank = data.shape.count
        let axis = c.int("axis", default: 0)
        guard rank > 0, axis >= -rank && axis < rank else {
            throw c.error(.invalidGraph, "axis \(axis) for \(data.shape)")
        }
        let a = axis < 0 ? axis + rank : axis
        let extent = data.shape[a]
        for i in indices where i < -extent || i >= extent {
            throw c.error(.invalidGraph, "index \(i) out of range for axis \(a) of \(data.shape)")
        }
        let outShape = Array(data.shape[..<a]) + indicesValue.shape + Array(data.shape[(a + 1)...])
        _ = try c.limits.checkedCount(outShape, "the output", node: c.name)
        return [try layout(c, data) { $0.gathered(indices: indices, indicesShape: indicesValue.shape, axis: a) }]
    }

    static func axesFor(_ c: NodeContext, attributeBefore version: Int) throws -> [Int]? {
        c.opset >= version ? try c.optionalInput(1).map { try $0.asInts("axes", node: c.name) } : c.ints("axes")
    }

    static func unsqueeze(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        guard let axes = try axesFor(c, attributeBefore: 13) else { throw c.error(.invalidGraph, "no axes") }
        let outRank = x.shape.count + axes.count
        guard outRank <= c.limits.maximumRank else {
            throw c.error(.limitExceeded, "output rank \(outRank) is over the limit of \(c.limits.maximumRank)")
        }
        let normalized = axes.map { $0 < 0 ? $0 + outRank : $0 }
        let inserted = Set(normalized)
        guard normalized.allSatisfy({ $0 >= 0 && $0 < outRank }), inserted.count == normalized.count else {
            throw c.error(.invalidGraph, "axes \(axes) for output rank \(outRank)")
        }
        var shape: [Int] = []
        var source = x.shape.makeIterator()
        for i in 0..<outRank { shape.append(inserted.contains(i) ? 1 : (source.next() ?? 1)) }
        return [try layout(c, x) { $0.reshaped(shape) }]
    }

    static func squeeze(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        let rank = x.shape.count
        let axes =
            try axesFor(c, attributeBefore: 13)?.map { $0 < 0 ? $0 + rank : $0 }
            ?? x.shape.indices.filter { x.shape[$0] == 1 }
        for a in axes where a < 0 || a >= rank || x.shape[a] != 1 {
            throw c.error(.invalidGraph, "cannot squeeze axis \(a) of shape \(x.shape)")
        }
        let shape = x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] }
        return [try layout(c, x) { $0.reshaped(shape) }]
    }

    /// Split: sizes from the `split` attribute (before opset 13) or input (13 on), or equal parts, one
    /// per output; from opset 18, `num_outputs` parts of ⌈d/n⌉ with a smaller last part.
    static func split(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["axis", "split", "num_outputs"])
        let x = try c.input(0)
        let shape = x.shape
        let rank = shape.count
        let axis = c.int("axis", default: 0)
        guard axis >= -rank && axis < rank else { throw c.error(.invalidGraph, "axis \(axis) for shape \(shape)") }
        let a = axis < 0 ? axis + rank : axis
        let d = shape[a]
        let outputs = c.node.output.count
        let given =
            c.opset >= 13 ? try c.optionalInput(1).map { try $0.asInts("split", node: c.name) } : c.ints("split")
        let numOutputs = c.opset >= 18 ? c.attribute("num_outputs").map { Int($0.i) } : nil
        let sizes: [Int]
        if let given, !given.isEmpty {
            guard numOutputs == nil else { throw c.error(.invalidGraph, "both split and num_outputs are given") }
            sizes = given
        } else if c.opset >= 18 {
            let n = numOutputs ?? outputs
            guard n >= 1, n == outputs else {
                throw c.error(.invalidGraph, "num_outputs \(n) for a node with \(outputs) outputs")
            }
            let part = (d + n - 1) / n
            guard d - part * (n - 1) >= 0 else {
                throw c.error(
                    .invalidGraph,
                    "\(n) parts of \(part) (⌈\(d)/\(n)⌉) overrun axis \(a) of shape \(shape); give split sizes instead"
                )
            }
            sizes = [Int](repeating: part, count: n - 1) + [d - part * (n - 1)]
        } else {
            guard outputs >= 1, d % outputs == 0 else {
                throw c.error(
                    .invalidGraph,
                    "axis \(a) of shape \(shape) does not split into \(outputs) equal parts; give split sizes"
                )
            }
            sizes = [Int](repeating: d / outputs, count: outputs)
        }
        // Each size within the axis before they are added, so the sum cannot overflow.
        guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 0 && $0 <= d }), sizes.reduce(0, +) == d else {
            throw c.error(.invalidGraph, "split sizes \(sizes) for axis \(a) of shape \(shape) and \(outputs) outputs")
        }
        var start = 0
        return try sizes.map { size in
            var starts = [Int](repeating: 0, count: rank)
            var ends = shape
            starts[a] = start
            ends[a] = start + size
            start += size
            return try layout(c, x) { $0.sliced(starts: starts, ends: ends) }
        }
    }
}
