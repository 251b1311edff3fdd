/// The norm that bounds a perturbation.
public enum PerturbationNorm: String, Sendable, Hashable, CaseIterable, Codable {
    /// No input value moves by more than ε.
    case linf
    /// The perturbation's Euclidean length is at most ε.
    case l2
}

/// The threat model of an attack: the norm, the budget ε, and the box the inputs live in.
public struct ThreatModel: Sendable, Hashable {
    /// The norm that bounds the perturbation.
    public var norm: PerturbationNorm
    /// The budget, ≥ 0, in input units.
    public var epsilon: Float

    /// Creates a threat model.
    public init(_ norm: PerturbationNorm, epsilon: Float) {
        self.norm = norm
        self.epsilon = epsilon
    }

    /// Checks the budget.
    func validate(attack: String) throws {
        guard epsilon >= 0, epsilon.isFinite else {
            throw AttackError(.invalidConfiguration, "\(attack): ε must be a finite number ≥ 0, not \(epsilon)")
        }
    }

    /// Projects `x[range]` onto the ball of radius ε around `x0[range]` intersected with `bounds`.
    /// For L∞ the two sets are boxes, so clipping to both is the exact projection; for L2 the ball
    /// projection is followed by the clip (the order AutoAttack and torchattacks use).
    func project(_ x: inout [Float], around x0: [Float], range: Range<Int>, bounds: ClosedRange<Float>) {
        switch norm {
        case .linf:
            for i in range {
                let low = Swift.max(x0[i] - epsilon, bounds.lowerBound)
                let high = Swift.min(x0[i] + epsilon, bounds.upperBound)
                x[i] = Swift.min(Swift.max(x[i], low), high)
            }
        case .l2:
            var squared: Float = 0
            for i in range {
                let d = x[i] - x0[i]
                squared += d * d
            }
            let length = squared.squareRoot()
            let scale: Float = length > epsilon ? epsilon / length : 1
            for i in range {
                let moved = x0[i] + (x[i] - x0[i]) * scale
                x[i] = Swift.min(Swift.max(moved, bounds.lowerBound), bounds.upperBound)
            }
        }
    }

    /// The size of the perturbation `x − x0` in this norm.
    func size(of x: ArraySlice<Float>, around x0: ArraySlice<Float>) -> Float {
        PerturbationSize(x, around: x0).value(norm)
    }
}

/// Both norms of one example's perturbation.
public struct PerturbationSize: Sendable, Hashable {
    /// max |δ_i|.
    public var linf: Float
    /// ‖δ‖₂.
    public var l2: Float

    /// The sizes of `x − x0` (equal lengths).
    init(_ x: ArraySlice<Float>, around x0: ArraySlice<Float>) {
        var largest: Float = 0
        var squared: Float = 0
        for (a, b) in zip(x, x0) {
            let d = a - b
            largest = Swift.max(largest, Swift.abs(d))
            squared += d * d
        }
        linf = largest
        l2 = squared.squareRoot()
    }

    /// The size in `norm`.
    public func value(_ norm: PerturbationNorm) -> Float { norm == .linf ? linf : l2 }
}
