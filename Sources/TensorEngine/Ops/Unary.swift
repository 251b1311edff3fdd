import Foundation

// Unary elementwise ops. Derivatives that depend on a step (relu, abs, clip) multiply by a constant
// 0/1 mask: their second derivative is zero almost everywhere, which the mask gives exactly.

extension Tensor {
    func unary(
        _ name: String,
        _ f: (Float) -> Float,
        vjp: @escaping @Sendable (_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor
    ) -> Tensor {
        let out = Tensor(shape: shape, scalars: Kernels.map(scalars, f))
        let x = self
        return .record(name, out, inputs: [self]) { g, y in [vjp(g, x, y)] }
    }

    /// A constant tensor of `f(x)` for each element (no gradient).
    func constantMap(_ f: (Float) -> Float) -> Tensor {
        Tensor(shape: shape, scalars: Kernels.map(scalars, f))
    }
}

/// eˣ. VJP: g·eˣ.
public func exp(_ x: Tensor) -> Tensor { x.unary("exp", expf, vjp: { g, _, y in g * y }) }

/// The natural logarithm. VJP: g/x.
public func log(_ x: Tensor) -> Tensor { x.unary("log", logf, vjp: { g, x, _ in g / x }) }

/// √x. VJP: g/(2√x).
public func sqrt(_ x: Tensor) -> Tensor { x.unary("sqrt", sqrtf, vjp: { g, _, y in g / (y * 2) }) }

/// |x|. VJP: g·sign(x) (0 at 0).
public func abs(_ x: Tensor) -> Tensor { x.unary("abs", Swift.abs, vjp: { g, x, _ in g * sign(x) }) }

/// The sign of x as −1, 0 or 1. Its derivative is zero.
public func sign(_ x: Tensor) -> Tensor {
    x.constantMap { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
}

/// max(x, 0). VJP: `reluGradient(g, x)`, g where x > 0.
public func relu(_ x: Tensor) -> Tensor {
    let out = Tensor(shape: x.shape, scalars: Kernels.relu(x.scalars))
    return .record("relu", out, inputs: [x]) { g, _ in [reluGradient(g, x)] }
}

/// g where x > 0, else 0: the derivative of relu in one pass. It is linear in g (VJP: the same mask
/// applied to the upstream gradient) and piecewise constant in x (no gradient to x).
public func reluGradient(_ g: Tensor, _ x: Tensor) -> Tensor {
    precondition(g.shape == x.shape, "reluGradient: gradient \(g.shape) for input \(x.shape)")
    let out = Tensor(shape: g.shape, scalars: Kernels.reluGradient(g.scalars, x.scalars))
    return .record("reluGradient", out, inputs: [g, x]) { gg, _ in [reluGradient(gg, x), nil] }
}

/// x for x ≥ 0, α·x below. VJP: g or α·g.
public func leakyRelu(_ x: Tensor, alpha: Float = 0.01) -> Tensor {
    x.unary(
        "leakyRelu",
        { $0 >= 0 ? $0 : alpha * $0 },
        vjp: { g, x, _ in
            g * x.constantMap { $0 >= 0 ? 1 : alpha }
        }
    )
}

/// 1/(1 + e⁻ˣ). VJP: g·y·(1 − y).
public func sigmoid(_ x: Tensor) -> Tensor {
    x.unary("sigmoid", { 1 / (1 + expf(-$0)) }, vjp: { g, _, y in g * y * (1 - y) })
}

/// tanh x. VJP: g·(1 − y²).
public func tanh(_ x: Tensor) -> Tensor { x.unary("tanh", tanhf, vjp: { g, _, y in g * (1 - y * y) }) }

/// The error function erf x = 2/√π ∫₀ˣ e^(−t²) dt. VJP: g·(2/√π)·e^(−x²), written in ops, so its own
/// derivative (−2x times it) follows.
public func erf(_ x: Tensor) -> Tensor {
    x.unary(
        "erf",
        erff,
        vjp: { g, x, _ in
            g * exp(-(x * x)) * Float(2 / Double.pi.squareRoot())
        }
    )
}

/// x clamped to [low, high]. VJP: g inside the interval (ends included), 0 outside.
public func clip(_ x: Tensor, min low: Float, max high: Float) -> Tensor {
    precondition(low <= high, "clip: min \(low) > max \(high)")
    return x.unary(
        "clip",
        { Swift.min(Swift.max($0, low), high) },
        vjp: { g, x, _ in
            g * x.constantMap { $0 >= low && $0 <= high ? 1 : 0 }
        }
    )
}

/// x². VJP: 2·g·x.
public func square(_ x: Tensor) -> Tensor { x * x }
