// Softmax family along one axis, forward on a fused stable kernel, derivatives in ops.

/// softmax along `axis`. VJP: y·(g − Σ g·y).
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let a = normalizedAxis(axis, rank: x.rank)
    let out = Tensor(shape: x.shape, scalars: Kernels.softmax(x.scalars, x.shape, axis: a, log: false))
    return .record("softmax", out, inputs: [x]) { g, y in
        [y * (g - (g * y).sum(axes: [a], keepDims: true))]
    }
}

/// log-softmax along `axis`. VJP: g − softmax(x)·Σ g, with softmax = exp(y).
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let a = normalizedAxis(axis, rank: x.rank)
    let out = Tensor(shape: x.shape, scalars: Kernels.softmax(x.scalars, x.shape, axis: a, log: true))
    return .record("logSoftmax", out, inputs: [x]) { g, y in
        [g - exp(y) * g.sum(axes: [a], keepDims: true)]
    }
}
