import TensorEngine

/// Pad in its constant, edge, reflect and wrap modes. Negative pads crop first (as onnxruntime
/// does); the positive ones then pad what is left. Constant padding is the engine's `padded`;
/// the other modes read every output element from a source element through `gatherFlat`, so all
/// modes are differentiable (edge, reflect and wrap add up the gradient of repeated elements).
enum PadOperator {
    static let all: [(String, OperatorRegistry.Implementation)] = [("Pad", pad)]

    enum Mode: String {
        case constant, edge, reflect, wrap
    }

    static func pad(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["mode", "pads", "paddings", "value"])
        let x = try c.input(0)
        let shape = x.shape
        let rank = shape.count
        let modeName = c.string("mode", default: "constant")
        guard let mode = Mode(rawValue: modeName) else {
            throw c.error(
                .unsupported,
                "mode '\(modeName)' is not an ONNX Pad mode (constant, edge, reflect, wrap); re-export the model "
                    + "with one of these"
            )
        }
        // Pad-2 (opsets 2–10): attributes `pads` and `value`; Pad-11: inputs `pads` and
        // `constant_value`; Pad-18 adds the `axes` input.
        let pads: [Int]
        var fill: Float = 0
        var intFill: Int?
        var axes = Array(0..<rank)
        if c.opset >= 11 {
            pads = try c.input(1).asInts("pads", node: c.name)
            if let v = c.optionalInput(2) {
                guard v.shape.reduce(1, *) == 1 else {
                    throw c.error(.invalidGraph, "constant_value of shape \(v.shape) is not a scalar")
                }
                if case .int(_, let values) = v { intFill = values[0] }
                fill = v.asTensor.scalars[0]
            }
            if let v = c.optionalInput(3) {
                guard c.opset >= 18 else { throw c.error(.invalidGraph, "the axes input exists from opset 18 on") }
                axes = try v.asInts("axes", node: c.name).map { $0 < 0 ? $0 + rank : $0 }
                guard axes.allSatisfy({ $0 >= 0 && $0 < rank }), Set(axes).count == axes.count else {
                    throw c.error(.invalidGraph, "axes \(try v.asInts("axes", node: c.name)) for shape \(shape)")
                }
            }
        } else {
            guard let p = c.ints("pads") ?? c.ints("paddings") else {
                throw c.error(.invalidGraph, "no pads attribute")
            }
            pads = p
            fill = c.float("value", default: 0)
        }
        guard pads.count == 2 * axes.count else {
            throw c.error(.invalidGraph, "\(pads.count) pads for \(axes.count) axes of shape \(shape); give 2 per axis")
        }
        var before = [Int](repeating: 0, count: rank)
        var after = [Int](repeating: 0, count: rank)
        for (k, a) in axes.enumerated() {
            before[a] = pads[k]
            after[a] = pads[k + axes.count]
        }
        // Crop by the negative pads, checking sizes before anything is allocated.
        let limit = c.limits.maximumTensorElements
        guard pads.allSatisfy({ $0 >= -limit && $0 <= limit }) else {
            throw c.error(.limitExceeded, "pads \(pads) exceed the element limit of \(limit)")
        }
        var cropStart = [Int](repeating: 0, count: rank)
        var cropEnd = shape
        var outShape = shape
        var total = 1
        for a in 0..<rank {
            cropStart[a] = max(0, -before[a])
            cropEnd[a] = shape[a] - max(0, -after[a])
            let kept = cropEnd[a] - cropStart[a]
            guard kept >= 0 else {
                throw c.error(.invalidGraph, "pads \(pads) remove more than axis \(a) of shape \(shape) holds")
            }
            let grown = kept + max(0, before[a]) + max(0, after[a])
            if mode != .constant && kept == 0 && grown > 0 {
                throw c.error(.invalidGraph, "mode \(modeName) cannot pad axis \(a), which is empty after cropping")
            }
            outShape[a] = grown
            let (product, overflowed) = total.multipliedReportingOverflow(by: grown)
            guard !overflowed, product <= limit else {
                throw c.error(.limitExceeded, "pads \(pads) on shape \(shape) give more than the element limit")
            }
            total = product
        }
        let cropped = cropStart != [Int](repeating: 0, count: rank) || cropEnd != shape
        let grow = (0..<rank).map { (max(0, before[$0]), max(0, after[$0])) }
        let keptShape = (0..<rank).map { cropEnd[$0] - cropStart[$0] }
        let indices = mode == .constant ? nil : sourceIndices(keptShape, grow: grow, mode: mode)
        return [
            // Integers move as positions (see `layout`): their padding is 0 there, then the fill.
            try ShapeOperators.layout(c, x, padding: intFill ?? Int(exactly: fill.rounded(.towardZero)) ?? 0) { t in
                let kept = cropped ? t.sliced(starts: cropStart, ends: cropEnd) : t
                if let indices { return kept.gatherFlat(indices: indices, shape: outShape) }
                return kept.padded(before: grow.map(\.0), after: grow.map(\.1), value: x.isInt ? 0 : fill)
            }
        ]
    }

    /// For each element of the padded output, the flat index of the element of `shape` it copies:
    /// per axis, position i (relative to the start of the data) reads `sourcePosition(i)`.
    static func sourceIndices(_ shape: [Int], grow: [(Int, Int)], mode: Mode) -> [Int32] {
        let strides = contiguousStrides(shape)
        var flat: [Int32] = [0]
        for a in shape.indices {
            let d = shape[a]
            let extent = d + grow[a].0 + grow[a].1
            let positions = (0..<extent).map { o -> Int32 in
                Int32(sourcePosition(o - grow[a].0, extent: d, mode: mode) * strides[a])
            }
            var next: [Int32] = []
            next.reserveCapacity(flat.count * extent)
            for base in flat {
                for p in positions { next.append(base + p) }
            }
            flat = next
        }
        return flat
    }

    /// The source position along an axis of extent d > 0 for position i (< 0 or ≥ d outside):
    /// edge clamps, reflect mirrors about the end elements without repeating them, wrap repeats the
    /// axis. Reflect follows numpy.pad, as ONNX's reference implementation does: pads beyond d − 1
    /// keep mirroring (period 2(d − 1)) and an axis of one element repeats it, where onnxruntime
    /// refuses both.
    static func sourcePosition(_ i: Int, extent d: Int, mode: Mode) -> Int {
        if i >= 0 && i < d { return i }
        switch mode {
        case .constant, .edge:
            return min(max(i, 0), d - 1)
        case .reflect:
            if d == 1 { return 0 }
            let period = 2 * (d - 1)
            let m = (i % period + period) % period
            return m < d ? m : period - m
        case .wrap:
            return (i % d + d) % d
        }
    }
}
