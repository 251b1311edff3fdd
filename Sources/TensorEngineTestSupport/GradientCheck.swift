import TensorEngine

/// Finite-difference oracles for gradients (first and second order).
///
/// The function under test maps tracked inputs to a scalar. Its analytic gradient (from the tape)
/// is compared with central differences `(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h`, whose arithmetic is done
/// in `Double` (the engine itself evaluates f in Float). For second order, pass a function that
/// itself calls `gradient(of:wrt:createGraph: true)`: its gradient is then a Hessian–vector product
/// and the differences are taken of the first gradient.
public enum GradientCheck {
    /// The outcome of a check: the worst element, measured as |analytic − numeric| / (atol + rtol·|numeric|).
    public struct Result: Sendable, CustomStringConvertible {
        /// The worst ratio; the check passes when it is ≤ 1.
        public var worstRatio: Double
        /// Where the worst element is: input number and flat index.
        public var worstInput: Int
        public var worstIndex: Int
        public var analytic: Double
        public var numeric: Double
        /// How many elements were compared.
        public var compared: Int

        public var passed: Bool { worstRatio <= 1 }
        public var description: String {
            "worst ratio \(worstRatio) at input \(worstInput)[\(worstIndex)]: analytic \(analytic), numeric \(numeric) (\(compared) elements)"
        }
    }

    /// Evaluates `f` at `inputs` with the tape off and returns its scalar value in Double.
    static func value(_ f: ([Tensor]) -> Tensor, _ inputs: [Tensor]) -> Double {
        // Second-order functions need the tape inside f, so recording stays on; inputs are tracked
        // fresh each time so no state leaks between evaluations.
        let y = f(inputs.map { $0.tracked() })
        return Double(y.scalar)
    }

    /// Compares the tape's gradient of scalar `f` with central differences for every element of
    /// every input (or the first `maxElements` of each, strided evenly).
    public static func check(
        _ inputs: [Tensor],
        step h: Float = 1e-2,
        rtol: Double = 1e-2,
        atol: Double = 1e-3,
        maxElements: Int = 64,
        _ f: ([Tensor]) -> Tensor
    ) -> Result {
        let tracked = inputs.map { $0.tracked() }
        let y = f(tracked)
        precondition(y.count == 1, "GradientCheck: f must return a scalar, got \(y.shape)")
        let analytic = gradient(of: y, wrt: tracked)
        var result = Result(worstRatio: 0, worstInput: -1, worstIndex: -1, analytic: 0, numeric: 0, compared: 0)
        for (k, input) in inputs.enumerated() {
            let stride = max(1, input.count / maxElements)
            for i in Swift.stride(from: 0, to: input.count, by: stride) {
                var plus = input.scalars
                var minus = input.scalars
                plus[i] += h
                minus[i] -= h
                // The actual perturbation after Float rounding, so the quotient is exact in Double.
                let width = Double(plus[i]) - Double(minus[i])
                var argsPlus = inputs
                var argsMinus = inputs
                argsPlus[k] = Tensor(shape: input.shape, scalars: plus)
                argsMinus[k] = Tensor(shape: input.shape, scalars: minus)
                let numeric = (value(f, argsPlus) - value(f, argsMinus)) / width
                let a = Double(analytic[k].scalars[i])
                let ratio = Swift.abs(a - numeric) / (atol + rtol * Swift.abs(numeric))
                result.compared += 1
                if ratio > result.worstRatio || result.worstInput < 0 {
                    result.worstRatio = ratio
                    result.worstInput = k
                    result.worstIndex = i
                    result.analytic = a
                    result.numeric = numeric
                }
            }
        }
        return result
    }

    /// A fixed random weighting so that a non-scalar output exercises every element's gradient:
    /// Σᵢ wᵢ·yᵢ with w drawn from `seed`.
    public static func projection(_ y: Tensor, seed: UInt64 = 7) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        let w = Tensor.uniform(y.shape, low: -1, high: 1, using: &rng)
        return (y * w).sum()
    }

    /// Second order: checks ∂/∂x (v · ∂L/∂x) — a Hessian–vector product — for scalar `f`, where `v` is a fixed
    /// random direction per input, against central differences of the first gradient.
    public static func checkSecondOrder(
        _ inputs: [Tensor],
        step h: Float = 1e-2,
        rtol: Double = 2e-2,
        atol: Double = 2e-3,
        maxElements: Int = 48,
        _ f: @escaping ([Tensor]) -> Tensor
    ) -> Result {
        var rng = RandomGenerator(seed: 11)
        let directions = inputs.map { Tensor.uniform($0.shape, low: -1, high: 1, using: &rng) }
        return check(inputs, step: h, rtol: rtol, atol: atol, maxElements: maxElements) { xs in
            let y = f(xs)
            let grads = gradient(of: y, wrt: xs, createGraph: true)
            var total = Tensor(0)
            for (g, v) in zip(grads, directions) { total = total + (g * v).sum() }
            return total
        }
    }
}
