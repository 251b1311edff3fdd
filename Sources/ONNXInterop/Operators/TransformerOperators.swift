import Foundation
import TensorEngine

/// Operators of transformer-era classifiers (ViT, Swin, ConvNeXt), composed from differentiable
/// engine ops so that first- and second-order derivatives come with them.
enum TransformerOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("LayerNormalization", layerNormalization),
        ("Gelu", gelu),
        ("Softplus", { c in [.float(softplus(try c.tensor(0)))] }),
        (
            "Mish",
            { c in
                let x = try c.tensor(0)
                return [.float(x * tanh(softplus(x)))]
            }
        ),
        ("ReduceMin", MoreOperators.reduce { -((-$0).max(axes: $1, keepDims: $2)) }),
        ("ReduceL2", MoreOperators.reduce { sqrt(($0 * $0).sum(axes: $1, keepDims: $2)) }),
        ("ReduceL1", MoreOperators.reduce { abs($0).sum(axes: $1, keepDims: $2) }),
        ("ReduceSumSquare", MoreOperators.reduce { ($0 * $0).sum(axes: $1, keepDims: $2) }),
        ("ReduceLogSumExp", MoreOperators.reduce(logSumExp)),
        ("ReduceProd", MoreOperators.reduce(product)),
        ("InstanceNormalization", instanceNormalization),
        ("DepthToSpace", depthToSpace),
        ("GroupNormalization", groupNormalization),
        ("LRN", localResponseNormalization),
        ("SpaceToDepth", spaceToDepth),
    ]

    /// log(1 + eˣ), computed as max(x, 0) + log(1 + e^−|x|) so that large |x| neither overflows nor
    /// loses the gradient.
    static func softplus(_ x: Tensor) -> Tensor { relu(x) + log(1 + exp(-abs(x))) }

    /// The product over the axes as a chain of multiplications of slices: exact, and differentiable
    /// where an element is 0 (a product of logarithms would not be).
    @Sendable static func product(_ x: Tensor, _ axes: [Int]?, _ keepDims: Bool) -> Tensor {
        var result = x
        for axis in (axes ?? Array(0..<x.rank)).map({ $0 < 0 ? $0 + x.rank : $0 }).sorted() {
            var running: Tensor?
            for index in 0..<result.shape[axis] {
                var starts = Array(repeating: 0, count: result.rank)
                var ends = result.shape
                starts[axis] = index
                ends[axis] = index + 1
                let slice = result.sliced(starts: starts, ends: ends)
                running = running.map { $0 * slice } ?? slice
            }
            result = running ?? result
        }
        guard !keepDims else { return result }
        let reduced = Set((axes ?? Array(0..<x.rank)).map { $0 < 0 ? $0 + x.rank : $0 })
        return result.reshaped(x.shape.indices.filter { !reduced.contains($0) }.map { x.shape[$0] })
    }

    /// log Σ eˣ over the axes, shifted by the (constant) maximum for stability.
    @Sendable static func logSumExp(_ x: Tensor, _ axes: [Int]?, _ keepDims: Bool) -> Tensor {
        let top = withoutGradients { x.max(axes: axes, keepDims: true) }.detached
        let summed = log(exp(x - top).sum(axes: axes, keepDims: true)) + top
        guard !keepDims else { return summed }
        let reduced = Set((axes ?? Array(0..<x.rank)).map { $0 < 0 ? $0 + x.rank : $0 })
        return summed.reshaped(x.shape.indices.filter { !reduced.contains($0) }.map { x.shape[$0] })
    }

    /// InstanceNormalization: each (n, c) plane normalised over its spatial axes, then scaled and
    /// shifted per channel: y = (x − mean)/√(var + ε)·scale[c] + B[c]. Scale and B are trainable.
    static func instanceNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["epsilon"])
        let x = try c.tensor(0)
        let scale = try c.tensor(1)
        let bias = try c.tensor(2)
        guard x.rank >= 3, scale.count == x.shape[1], bias.count == x.shape[1] else {
            throw c.error(
                .invalidGraph,
                "input \(x.shape) needs rank ≥ 3 and one scale and bias per channel (got \(scale.shape), \(bias.shape))"
            )
        }
        let epsilon = c.float("epsilon", default: 1e-5)
        let axes = Array(2..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let centred = x - mean
        let variance = (centred * centred).mean(axes: axes, keepDims: true)
        let perChannel = [1, x.shape[1]] + Array(repeating: 1, count: x.rank - 2)
        let y = centred / sqrt(variance + epsilon) * scale.reshaped(perChannel) + bias.reshaped(perChannel)
        return [.float(y)]
    }

    /// GroupNormalization (opsets 18 and 21): the channels split into `num_groups` groups, each
    /// normalised over its channels and spatial axes; then scaled and shifted per group (opset 18) or
    /// per channel (opset 21). Scale and B are trainable.
    static func groupNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["epsilon", "num_groups", "stash_type"])
        let x = try c.tensor(0)
        let scale = try c.tensor(1)
        let bias = try c.tensor(2)
        let groups = c.int("num_groups", default: 0)
        guard x.rank >= 2, groups >= 1, x.shape[1] % groups == 0 else {
            throw c.error(.invalidGraph, "input \(x.shape) cannot be split into \(groups) groups of channels")
        }
        let (n, channels) = (x.shape[0], x.shape[1])
        let perGroup = c.opset < 21 && scale.count == groups
        guard scale.count == (perGroup ? groups : channels), bias.count == scale.count else {
            throw c.error(
                .invalidGraph,
                "scale \(scale.shape) and bias \(bias.shape) must have one value per \(perGroup ? "group" : "channel")"
            )
        }
        let epsilon = c.float("epsilon", default: 1e-5)
        let grouped = x.reshaped([n, groups, x.count / max(n * groups, 1)])
        let mean = grouped.mean(axes: [2], keepDims: true)
        let centred = grouped - mean
        let variance = (centred * centred).mean(axes: [2], keepDims: true)
        let normalised = (centred / sqrt(variance + epsilon)).reshaped(x.shape)
        let trailing = Array(repeating: 1, count: x.rank - 2)
        if perGroup {
            let view = normalised.reshaped([n, groups, channels / groups] + Array(x.shape.dropFirst(2)))
            let shape = [1, groups, 1] + trailing
            return [.float((view * scale.reshaped(shape) + bias.reshaped(shape)).reshaped(x.shape))]
        }
        let shape = [1, channels] + trailing
        return [.float(normalised * scale.reshaped(shape) + bias.reshaped(shape))]
    }

    /// LRN: y = x / (bias + α/size · Σ x²)^β, the sum over the `size` channels around each channel
    /// (⌊(size−1)/2⌋ before, ⌈(size−1)/2⌉ after).
    static func localResponseNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["alpha", "beta", "bias", "size"])
        let x = try c.tensor(0)
        let size = c.int("size", default: 0)
        guard x.rank >= 3, size >= 1 else { throw c.error(.invalidGraph, "input \(x.shape) with size \(size)") }
        let (alpha, beta, bias) = (
            c.float("alpha", default: 1e-4), c.float("beta", default: 0.75), c.float("bias", default: 1)
        )
        let before = (size - 1) / 2
        let after = size - 1 - before
        let squares = x * x
        var padBefore = Array(repeating: 0, count: x.rank)
        var padAfter = padBefore
        padBefore[1] = before
        padAfter[1] = after
        let padded = squares.padded(before: padBefore, after: padAfter)
        var window = Tensor(zeros: x.shape)
        for offset in 0..<size {
            var starts = Array(repeating: 0, count: x.rank)
            var ends = x.shape
            starts[1] = offset
            ends[1] = offset + x.shape[1]
            window = window + padded.sliced(starts: starts, ends: ends)
        }
        return [.float(x / pow(window * (alpha / Float(size)) + bias, beta))]
    }

    /// DepthToSpace (DCR or CRD mode): (N, C·b², H, W) → (N, C, H·b, W·b).
    static func depthToSpace(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["blocksize", "mode"])
        let x = try c.tensor(0)
        let b = c.int("blocksize", default: 0)
        guard x.rank == 4, b >= 1, x.shape[1] % (b * b) == 0 else {
            throw c.error(.invalidGraph, "input \(x.shape) and blocksize \(b): need (N, C·b², H, W)")
        }
        let (n, channels, h, w) = (x.shape[0], x.shape[1] / (b * b), x.shape[2], x.shape[3])
        switch c.string("mode", default: "DCR") {
        case "DCR":
            let y = x.reshaped([n, b, b, channels, h, w]).transposed([0, 3, 4, 1, 5, 2])
            return [.float(y.reshaped([n, channels, h * b, w * b]))]
        case "CRD":
            let y = x.reshaped([n, channels, b, b, h, w]).transposed([0, 1, 4, 2, 5, 3])
            return [.float(y.reshaped([n, channels, h * b, w * b]))]
        case let other:
            throw c.error(.unsupported, "mode=\(other) is not an ONNX value (DCR or CRD)")
        }
    }

    /// SpaceToDepth: (N, C, H·b, W·b) → (N, C·b², H, W).
    static func spaceToDepth(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["blocksize"])
        let x = try c.tensor(0)
        let b = c.int("blocksize", default: 0)
        guard x.rank == 4, b >= 1, x.shape[2] % b == 0, x.shape[3] % b == 0 else {
            throw c.error(.invalidGraph, "input \(x.shape) and blocksize \(b): need (N, C, H·b, W·b)")
        }
        let (n, channels, h, w) = (x.shape[0], x.shape[1], x.shape[2] / b, x.shape[3] / b)
        let y = x.reshaped([n, channels, h, b, w, b]).transposed([0, 3, 5, 1, 2, 4])
        return [.float(y.reshaped([n, channels * b * b, h, w]))]
    }

    /// LayerNormalization (opset 17): over the axes [axis, rank), Y = (X − mean)/√(var + ε)·Scale + B,
    /// with the Mean and InvStdDev outputs (shape X.shape[..<axis] + 1s). Scale and B are trainable.
    static func layerNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["axis", "epsilon", "stash_type"])
        let x = try c.tensor(0)
        let scale = try c.tensor(1)
        let bias = c.optionalInput(2)?.asTensor
        var axis = c.int("axis", default: -1)
        guard axis >= -x.rank && axis < max(x.rank, 1) else {
            throw c.error(.invalidGraph, "axis \(axis) is outside the input's rank \(x.rank)")
        }
        if axis < 0 { axis += x.rank }
        let epsilon = c.float("epsilon", default: 1e-5)
        guard epsilon >= 0, epsilon.isFinite else { throw c.error(.invalidGraph, "epsilon \(epsilon) must be ≥ 0") }
        let normalized = Array(x.shape[axis...])
        for (name, t) in [("Scale", scale), ("B", bias)] {
            guard let t else { continue }
            guard t.count == normalized.reduce(1, *), t.rank <= normalized.count,
                Array(normalized.suffix(t.rank)) == t.shape || t.count == 1
            else {
                throw c.error(
                    .invalidGraph,
                    "\(name) has shape \(t.shape) but the normalised axes of \(x.shape) are \(normalized)"
                )
            }
        }
        let axes = Array(axis..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let centred = x - mean
        let variance = (centred * centred).mean(axes: axes, keepDims: true)
        let inverse = 1 / sqrt(variance + epsilon)
        var y = centred * inverse * scale
        if let bias { y = y + bias }
        return [.float(y), .float(mean), .float(inverse)]
    }

    /// Gelu (opset 20): x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or with approximate="tanh"
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    static func gelu(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["approximate"])
        let x = try c.tensor(0)
        switch c.string("approximate", default: "none") {
        case "none":
            return [.float(0.5 * x * (1 + erf(x * Float(1 / 2.0.squareRoot()))))]
        case "tanh":
            let inner = (x + 0.044715 * x * x * x) * Float((2 / Double.pi).squareRoot())
            return [.float(0.5 * x * (1 + tanh(inner)))]
        case let other:
            throw c.error(.unsupported, "approximate=\(other) is not an ONNX value (none or tanh)")
        }
    }
}
