// Batch normalisation over (N,C,spatial…). Forward on fused kernels; the training-mode derivative
// re-derives the statistics from x with ops, so it is differentiable again.

/// Per-channel affine map y = x·a[c] + b[c] for x (N,C,…), a and b (C). VJP in broadcast ops.
public func channelAffine(_ x: Tensor, scale a: Tensor, shift b: Tensor) -> Tensor {
    precondition(x.rank >= 2 && a.shape == [x.shape[1]] && b.shape == [x.shape[1]],
                 "channelAffine: x \(x.shape), scale \(a.shape), shift \(b.shape)")
    let (n, c) = (x.shape[0], x.shape[1])
    let spatial = x.shape[2...].reduce(1, *)
    let out = Tensor(shape: x.shape, scalars: Kernels.channelAffine(
        x.scalars, batch: n, channels: c, spatial: spatial, scale: a.scalars, shift: b.scalars))
    let view = [1, c] + [Int](repeating: 1, count: x.rank - 2)
    let reduceAxes = [0] + Array(2..<x.rank)
    return .record("channelAffine", out, inputs: [x, a, b]) { g, _, needed in
        [
            needed[0] ? g * a.reshaped(view) : nil,
            needed[1] ? (g * x).sum(axes: reduceAxes) : nil,
            needed[2] ? g.sum(axes: reduceAxes) : nil,
        ]
    }
}

/// Inference batch norm: (x − mean)/√(variance + ε)·scale + offset, with given statistics (all (C)).
public func batchNorm(
    _ x: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, offset: Tensor, epsilon: Float = 1e-5
) -> Tensor {
    let a = scale / sqrt(variance + epsilon)
    return channelAffine(x, scale: a, shift: offset - mean * a)
}

/// Training batch norm: normalises with this batch's statistics. Returns the output and the batch
/// mean and biased variance (for the caller's running averages).
public func batchNormTraining(
    _ x: Tensor, scale: Tensor, offset: Tensor, epsilon: Float = 1e-5
) -> (output: Tensor, mean: [Float], variance: [Float]) {
    precondition(x.rank >= 2 && scale.shape == [x.shape[1]] && offset.shape == [x.shape[1]],
                 "batchNormTraining: x \(x.shape), scale \(scale.shape), offset \(offset.shape)")
    let (n, c) = (x.shape[0], x.shape[1])
    let spatial = x.shape[2...].reduce(1, *)
    let (mean, variance) = Kernels.batchNormStatistics(x.scalars, batch: n, channels: c, spatial: spatial)
    let invStd = variance.map { 1 / (($0 + epsilon).squareRoot()) }
    let a = (0..<c).map { scale.scalars[$0] * invStd[$0] }
    let b = (0..<c).map { offset.scalars[$0] - mean[$0] * a[$0] }
    let y = Kernels.channelAffine(x.scalars, batch: n, channels: c, spatial: spatial, scale: a, shift: b)
    let out = Tensor(shape: x.shape, scalars: y)
    let view = [1, c] + [Int](repeating: 1, count: x.rank - 2)
    let axes = [0] + Array(2..<x.rank)
    let recorded = Tensor.record("batchNormTraining", out, inputs: [x, scale, offset]) { g, _, needed in
        // x̂ = (x − μ)/σ with μ, σ from x; dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂)).
        let mu = x.mean(axes: axes, keepDims: true)
        let centered = x - mu
        let inv = 1 / sqrt((centered * centered).mean(axes: axes, keepDims: true) + epsilon)
        let xhat = centered * inv
        let gx: Tensor? = !needed[0] ? nil :
            (scale.reshaped(view) * inv) * (g - g.mean(axes: axes, keepDims: true)
                - xhat * (g * xhat).mean(axes: axes, keepDims: true))
        return [
            gx,
            needed[1] ? (g * xhat).sum(axes: axes) : nil,
            needed[2] ? g.sum(axes: axes) : nil,
        ]
    }
    return (recorded, mean, variance)
}
