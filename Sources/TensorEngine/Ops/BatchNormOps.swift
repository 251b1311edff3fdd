// Batch normalisation over (N,C,spatial…). Forward on fused kernels; the training-mode derivative
// re-derives the statistics from x with ops, so it is differentiable again.

/// Per-channel affine map y = x·a[c] + b[c] for x (N,C,…), a and b (C). VJP in broadcast ops.
public func channelAffine(_ x: Tensor, scale a: Tensor, shift b: Tensor) -> Tensor {
    precondition(
        x.rank >= 2 && a.shape == [x.shape[1]] && b.shape == [x.shape[1]],
        "channelAffine: x \(x.shape), scale \(a.shape), shift \(b.shape)"
    )
    let (n, c) = (x.shape[0], x.shape[1])
    let spatial = x.shape[2...].reduce(1, *)
    let out = Tensor(
        shape: x.shape,
        scalars: Kernels.channelAffine(
            x.scalars,
            batch: n,
            channels: c,
            spatial: spatial,
            scale: a.scalars,
            shift: b.scalars
        )
    )
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
    _ x: Tensor,
    mean: Tensor,
    variance: Tensor,
    scale: Tensor,
    offset: Tensor,
    epsilon: Float = 1e-5
) -> Tensor {
    let a = scale / sqrt(variance + epsilon)
    return channelAffine(x, scale: a, shift: offset - mean * a)
}

/// Training batch norm: normalises with this batch's statistics. Returns the output and the batch
/// mean and biased variance (for the caller's running averages).
///
/// With `residual` and `relu` the output is relu(batchNorm(x) + residual), applied while each plane
/// is normalised instead of two more passes; values and derivatives equal those of the separate
/// ops (the relu's derivative is taken from the output, positive exactly where its argument is).
public func batchNormTraining(
    _ x: Tensor,
    scale: Tensor,
    offset: Tensor,
    epsilon: Float = 1e-5,
    residual: Tensor? = nil,
    relu: Bool = false
) -> (output: Tensor, mean: [Float], variance: [Float]) {
    precondition(
        x.rank >= 2 && scale.shape == [x.shape[1]] && offset.shape == [x.shape[1]],
        "batchNormTraining: x \(x.shape), scale \(scale.shape), offset \(offset.shape)"
    )
    if let residual {
        precondition(residual.shape == x.shape, "batchNormTraining: residual \(residual.shape) for x \(x.shape)")
    }
    let (n, c) = (x.shape[0], x.shape[1])
    let spatial = x.shape[2...].reduce(1, *)
    let (mean, variance) = Kernels.batchNormStatistics(x.scalars, batch: n, channels: c, spatial: spatial)
    let invStd = variance.map { 1 / (($0 + epsilon).squareRoot()) }
    let a = (0..<c).map { scale.scalars[$0] * invStd[$0] }
    let b = (0..<c).map { offset.scalars[$0] - mean[$0] * a[$0] }
    let y = Kernels.channelAffine(
        x.scalars,
        batch: n,
        channels: c,
        spatial: spatial,
        scale: a,
        shift: b,
        residual: residual?.scalars,
        relu: relu
    )
    let out = Tensor(shape: x.shape, scalars: y)
    let axes = [0] + Array(2..<x.rank)
    let name = relu || residual != nil ? "batchNormTrainingEpilogue" : "batchNormTraining"
    let inputs = [x, scale, offset] + (residual.map { [$0] } ?? [])
    let recorded = Tensor.record(name, out, inputs: inputs) { upstream, output, needed in
        // Through the epilogue first: the relu's mask, then the residual takes the same gradient.
        // When the backward pass does not record, the mask is applied inside the kernel's passes
        // (the same bits, one pass over the tensor fewer) and the masked gradient is only stored
        // for a residual that needs it.
        let fuseMask = relu && !GradientMode.isEnabled
        let g = relu && !fuseMask ? reluGradient(upstream, output.detached) : upstream
        // Fast path: one fused kernel for dx, d scale and d offset. Each result is recorded (when
        // the backward pass records) as a fused op whose derivatives are those of the composed
        // reference formulas below, so batch norm stays differentiable to every order.
        let (dx, sumG, sumGXhat, masked) = Kernels.batchNormBackward(
            g.scalars,
            x.scalars,
            batch: n,
            channels: c,
            spatial: spatial,
            mean: mean,
            invStd: invStd,
            scale: scale.scalars,
            // Without a residual the relu's input is x·a + b: the kernel recomputes the mask from x
            // instead of reading the output.
            reluOutput: fuseMask && residual != nil ? output.scalars : nil,
            reluAffine: fuseMask && residual == nil ? (a, b) : nil,
            keepMasked: fuseMask && residual != nil && needed[3]
        )
        let residualGradient = masked.map { Tensor(shape: x.shape, scalars: $0) } ?? g
        return [
            needed[0]
                ? Tensor.recordFused(
                    "batchNormInputGradient",
                    Tensor(shape: x.shape, scalars: dx),
                    inputs: [g, x, scale],
                    reference: { batchNormInputGradientReference($0[0], $0[1], $0[2], epsilon) },
                    fastVJP: { h, needed in
                        // The second-order step of a double backward (Robust-KD's exact Jacobian
                        // term) in two passes; equal to the reference's VJP (tested).
                        let (dg, dx, dScale) = Kernels.batchNormInputGradientBackward(
                            h.scalars,
                            g.scalars,
                            x.scalars,
                            batch: n,
                            channels: c,
                            spatial: spatial,
                            mean: mean,
                            invStd: invStd,
                            scale: scale.scalars
                        )
                        return [
                            needed[0] ? Tensor(shape: x.shape, scalars: dg) : nil,
                            needed[1] ? Tensor(shape: x.shape, scalars: dx) : nil,
                            needed[2] ? Tensor(shape: [c], scalars: dScale) : nil,
                        ]
                    }
                ) : nil,
            needed[1]
                ? Tensor.recordFused(
                    "batchNormScaleGradient",
                    Tensor(shape: [c], scalars: sumGXhat),
                    inputs: [g, x]
                ) { args in
                    (args[0] * normalizedReference(args[1], epsilon)).sum(axes: axes)
                } : nil,
            needed[2]
                ? Tensor.recordFused("batchNormOffsetGradient", Tensor(shape: [c], scalars: sumG), inputs: [g]) {
                    $0[0].sum(axes: axes)
                } : nil,
        ] + (residual != nil ? [needed[3] ? residualGradient : nil] : [])
    }
    return (recorded, mean, variance)
}

/// x̂ = (x − μ)/√(σ² + ε) with the batch statistics of x, composed from ops (differentiable in x).
func normalizedReference(_ x: Tensor, _ epsilon: Float) -> Tensor {
    let axes = [0] + Array(2..<x.rank)
    let centered = x - x.mean(axes: axes, keepDims: true)
    return centered / sqrt((centered * centered).mean(axes: axes, keepDims: true) + epsilon)
}

/// The training batch-norm input derivative composed from ops:
/// dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂)), with μ and σ the batch statistics of x.
func batchNormInputGradientReference(_ g: Tensor, _ x: Tensor, _ scale: Tensor, _ epsilon: Float) -> Tensor {
    let axes = [0] + Array(2..<x.rank)
    let view = [1, x.shape[1]] + [Int](repeating: 1, count: x.rank - 2)
    let centered = x - x.mean(axes: axes, keepDims: true)
    let inv = 1 / sqrt((centered * centered).mean(axes: axes, keepDims: true) + epsilon)
    let xhat = centered * inv
    return (scale.reshaped(view) * inv)
        * (g - g.mean(axes: axes, keepDims: true) - xhat * (g * xhat).mean(axes: axes, keepDims: true))
}
