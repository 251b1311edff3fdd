import Foundation

// Binary arithmetic with NumPy broadcasting, and the broadcast/sum-to-shape pair that their
// derivatives use. Every VJP below is written with differentiable ops.

extension Tensor {
    /// Broadcasts to `shape` (NumPy rules). VJP: `sumToShape`.
    /// - Precondition: `self.shape` broadcasts to `shape`.
    public func broadcast(to shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        let out = Tensor(shape: shape, scalars: Kernels.broadcast(scalars, self.shape, to: shape))
        let inShape = self.shape
        return .record("broadcast", out, inputs: [self]) { g, _ in [g.sumToShape(inShape)] }
    }

    /// Sums a broadcast result back to `shape`: the adjoint of `broadcast(to:)`. VJP: `broadcast`.
    /// - Precondition: `shape` broadcasts to `self.shape`.
    public func sumToShape(_ shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        precondition(
            Kernels.broadcastShape(shape, self.shape) == self.shape && shape.count <= rank,
            "sumToShape: \(shape) does not broadcast to \(self.shape)"
        )
        let lead = rank - shape.count
        var axes = Array(0..<lead)
        for i in shape.indices where shape[i] == 1 && self.shape[lead + i] != 1 { axes.append(lead + i) }
        let out = Tensor(shape: shape, scalars: Kernels.sum(scalars, self.shape, axes: axes))
        let inShape = self.shape
        return .record("sumToShape", out, inputs: [self]) { g, _ in [g.broadcast(to: inShape)] }
    }

    static func binary(
        _ name: String,
        _ a: Tensor,
        _ b: Tensor,
        _ f: (Float, Float) -> Float,
        vjp:
            @escaping @Sendable (_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ needed: [Bool]) -> (
                Tensor?, Tensor?
            )
    ) -> Tensor {
        withoutActuallyEscaping(f) { f in binary(name, a, b, ElementwiseFunction(f), vjp: vjp) }
    }

    /// `binary` for an operation type the kernels specialise on (the arithmetic operators).
    static func binary<Op: ElementwiseBinary>(
        _ name: String,
        _ a: Tensor,
        _ b: Tensor,
        _ op: Op,
        vjp:
            @escaping @Sendable (_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ needed: [Bool]) -> (
                Tensor?, Tensor?
            )
    ) -> Tensor {
        let (values, shape) = Kernels.broadcastBinary(a.scalars, a.shape, b.scalars, b.shape, op)
        let out = Tensor(shape: shape, scalars: values)
        return .record(name, out, inputs: [a, b]) { g, y, needed in
            let (ga, gb) = vjp(g, a, b, y, needed)
            return [needed[0] ? ga?.sumToShape(a.shape) : nil, needed[1] ? gb?.sumToShape(b.shape) : nil]
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        guard a.shape == b.shape else { return binary("add", a, b, ElementwiseAdd(), vjp: { g, _, _, _, _ in (g, g) }) }
        let out = Tensor(shape: a.shape, scalars: Kernels.add(a.scalars, b.scalars))
        return .record("add", out, inputs: [a, b]) { g, _ in [g, g] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        binary("sub", a, b, ElementwiseSubtract()) { g, _, _, _, n in (g, n[1] ? -g : nil) }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        binary("mul", a, b, ElementwiseMultiply()) { g, a, b, _, n in (n[0] ? g * b : nil, n[1] ? g * a : nil) }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        binary("div", a, b, ElementwiseDivide()) { g, a, b, _, n in
            (n[0] ? g / b : nil, n[1] ? -(g * a / (b * b)) : nil)
        }
    }

    public static prefix func - (x: Tensor) -> Tensor {
        let out = Tensor(shape: x.shape, scalars: Kernels.negate(x.scalars))
        return .record("neg", out, inputs: [x]) { g, _ in [-g] }
    }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    public static func / (a: Tensor, b: Float) -> Tensor { a / Tensor(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
}

/// xᵖ elementwise with broadcasting. VJP: `p·x^(p−1)` for x and `xᵖ·log x` for p (taken only when p
/// is tracked; it is NaN for x < 0, as the real power is).
public func pow(_ x: Tensor, _ p: Tensor) -> Tensor {
    Tensor.binary(
        "pow",
        x,
        p,
        { powf($0, $1) },
        vjp: { g, x, p, y, n in
            (n[0] ? g * p * pow(x, p - 1) : nil, n[1] ? g * y * log(x) : nil)
        }
    )
}

/// xᵖ for a constant exponent.
public func pow(_ x: Tensor, _ p: Float) -> Tensor { pow(x, Tensor(p)) }

/// The elementwise minimum (ties send the gradient to `a`), with broadcasting.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.binary(
        "minimum",
        a,
        b,
        { Swift.min($0, $1) },
        vjp: { g, a, b, _, _ in
            let takeA = Tensor.mask(a, b) { $0 <= $1 }
            return (g * takeA, g * (1 - takeA))
        }
    )
}

/// The elementwise maximum (ties send the gradient to `a`), with broadcasting.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.binary(
        "maximum",
        a,
        b,
        { Swift.max($0, $1) },
        vjp: { g, a, b, _, _ in
            let takeA = Tensor.mask(a, b) { $0 >= $1 }
            return (g * takeA, g * (1 - takeA))
        }
    )
}

extension Tensor {
    /// A constant 0/1 tensor: 1 where `predicate(a, b)` holds (broadcast shape).
    static func mask(_ a: Tensor, _ b: Tensor, _ predicate: (Float, Float) -> Bool) -> Tensor {
        let (values, shape) = Kernels.broadcastBinary(a.scalars, a.shape, b.scalars, b.shape) {
            predicate($0, $1) ? 1 : 0
        }
        return Tensor(shape: shape, scalars: values)
    }
}
