import TensorEngine

/// The targeted Fast Adaptive Boundary attack (FAB-T), L∞ or L2: a minimum-norm attack, counted as
/// successful when the smallest adversarial perturbation it finds is within ε.
///
/// Croce and Hein, "Minimally distorted Adversarial Examples with a Fast Adaptive Boundary Attack",
/// arXiv 1907.02044, Algorithm 1, in its targeted form as AutoAttack runs it (arXiv 2003.01690):
/// for each target t among the classes ranked 2nd, 3rd, … by the clean logits, linearise
/// g = z_t − z_y at the iterate x, project both x and the clean input x₀ onto the box-constrained
/// half-space {g ≥ 0} of the linearisation (δ and δ₀), and step to
/// Π_box((1 − α)(x + η·δ) + α(x₀ + η·δ₀)) with α = min(‖δ‖/(‖δ‖ + ‖δ₀‖), α_max); when the new point
/// is adversarial, keep it if it is the closest so far and pull it back towards x₀ by
/// x ← x₀ + β·(x − x₀). AutoAttack's settings: 100 iterations, α_max 0.1, η 1.05, β 0.9, one run per
/// target starting from the clean input.
public struct FABTargeted: Attack {
    public let threat: ThreatModel
    /// Iterations per target.
    public let steps: Int
    /// The number of target classes.
    public let targets: Int
    /// The largest weight α of the clean-input projection.
    public let alphaMax: Float
    /// The overshoot η.
    public let eta: Float
    /// The backward step β.
    public let beta: Float

    /// FAB-T with the AutoAttack standard settings.
    public init(_ norm: PerturbationNorm, epsilon: Float, steps: Int = 100, targets: Int = 9) {
        threat = ThreatModel(norm, epsilon: epsilon)
        self.steps = steps
        self.targets = targets
        alphaMax = 0.1
        eta = 1.05
        beta = 0.9
    }

    public var name: String { "fab-t" }
    public var settings: [String: String] {
        [
            "norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "steps": "\(steps)",
            "targets": "\(targets)", "alpha_max": "\(alphaMax)", "eta": "\(eta)", "beta": "\(beta)",
            "restarts": "0", "random_start": "false",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        guard steps >= 1, targets >= 1 else {
            throw AttackError(.invalidConfiguration, "fab-t: steps and targets must be ≥ 1 (got \(steps), \(targets))")
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let k = model.classCount
        let d = model.inputDimension
        let bounds = model.inputBounds
        let ranking = sortedClasses(try model.evaluate(batch.inputs, count: batch.count).logits, n: batch.count, k: k)
        for target in 1...min(targets, k - 1) {
            let positions = tracker.robustPositions
            if positions.isEmpty { break }
            let n = positions.count
            let x0 = rows(batch.inputs, positions, width: d)
            let labels = rows(batch.labels, positions)
            let targetClasses = positions.map { ranking[$0][target] }
            var x = x0
            for _ in 0..<steps {
                // g = z_t − z_y and its gradient at x.
                let e = try model.evaluate(x, count: n) { z in
                    (z * (oneHot(targetClasses, n: n, k: k) - oneHot(labels, n: n, k: k))).sum(axes: [1])
                }
                var next = x
                for i in 0..<n {
                    let range = i * d..<(i + 1) * d
                    let w = Array(e.gradient[range])
                    // Linearisation: g(z) ≈ g(x) + w·(z − x) ≥ 0  ⟺  w·z ≥ w·x − g(x).
                    let wx = zip(w, x[range]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                    let b = wx - e.losses[i]
                    let fromX = BoxProjection.onto(
                        halfSpace: w,
                        b,
                        from: Array(x[range]),
                        norm: threat.norm,
                        bounds: bounds
                    )
                    let fromClean = BoxProjection.onto(
                        halfSpace: w,
                        b,
                        from: Array(x0[range]),
                        norm: threat.norm,
                        bounds: bounds
                    )
                    let a1: Float = Swift.max(normValue(fromX), 1e-8)
                    let a2: Float = Swift.max(normValue(fromClean), 1e-8)
                    let alpha: Float = Swift.min(Swift.max(a1 / (a1 + a2), 0), alphaMax)
                    for (j, index) in range.enumerated() {
                        let fromIterate: Float = (x[index] + eta * fromX[j]) * (1 - alpha)
                        let fromOrigin: Float = (x0[index] + eta * fromClean[j]) * alpha
                        next[index] = Swift.min(
                            Swift.max(fromIterate + fromOrigin, bounds.lowerBound),
                            bounds.upperBound
                        )
                    }
                }
                x = next
                let check = try model.evaluate(x, count: n)
                for p in positions { tracker.queries[p] += 2 }
                tracker.offerSmallest(x, logits: check.logits, positions: positions)
                for (i, predicted) in predictedClasses(check.logits, classes: k).enumerated()
                where predicted != labels[i] {
                    for index in i * d..<(i + 1) * d { x[index] = x0[index] + (x[index] - x0[index]) * beta }
                }
            }
        }
        return tracker.result()
    }

    private func normValue(_ delta: [Float]) -> Float {
        switch threat.norm {
        case .linf: delta.reduce(0) { max($0, abs($1)) }
        case .l2: delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }
}

/// Minimum-norm steps onto a half-space inside a box: the projections FAB takes.
enum BoxProjection {
    /// The smallest δ (in `norm`) with w·(p + δ) ≥ b and p + δ inside `bounds`. When no point of the
    /// box reaches the half-space, the box corner that comes closest (the farthest move along w).
    static func onto(
        halfSpace w: [Float],
        _ b: Float,
        from p: [Float],
        norm: PerturbationNorm,
        bounds: ClosedRange<Float>
    ) -> [Float] {
        let needed = b - zip(w, p).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        guard needed > 0 else { return [Float](repeating: 0, count: p.count) }
        // room[i]: how far coordinate i may move in the direction that raises w·p.
        let room = p.indices.map { i -> Float in
            w[i] > 0 ? bounds.upperBound - p[i] : (w[i] < 0 ? p[i] - bounds.lowerBound : 0)
        }
        let sign = w.map { Float($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) }
        switch norm {
        case .linf:
            // F(r) = Σ |w_i|·min(r, room_i) is increasing and piecewise linear; find F(r) = needed.
            let order = p.indices.filter { w[$0] != 0 }.sorted { room[$0] < room[$1] }
            var saturated: Float = 0  // Σ |w_i|·room_i over coordinates with room_i ≤ r
            var slope = order.reduce(Float(0)) { $0 + abs(w[$1]) }  // Σ |w_i| over the others
            var radius = Float.infinity
            var previous: Float = 0
            for i in order {
                // On [previous, room_i]: F(r) = saturated + slope·r.
                if slope > 0 {
                    let r = (needed - saturated) / slope
                    if r <= room[i] {
                        radius = max(r, previous)
                        break
                    }
                }
                saturated += abs(w[i]) * room[i]
                slope -= abs(w[i])
                previous = room[i]
            }
            return p.indices.map { sign[$0] * min(radius, room[$0]) }
        case .l2:
            // δ_i = clip(λ·w_i) to its room; G(λ) = Σ |w_i|·min(λ|w_i|, room_i); find G(λ) = needed.
            let active = p.indices.filter { w[$0] != 0 }
            let order = active.sorted { room[$0] / abs(w[$0]) < room[$1] / abs(w[$1]) }
            var saturated: Float = 0
            var slope = active.reduce(Float(0)) { $0 + w[$1] * w[$1] }
            var lambda = Float.infinity
            var previous: Float = 0
            for i in order {
                let breakpoint = room[i] / abs(w[i])
                if slope > 0 {
                    let l = (needed - saturated) / slope
                    if l <= breakpoint {
                        lambda = max(l, previous)
                        break
                    }
                }
                saturated += abs(w[i]) * room[i]
                slope -= w[i] * w[i]
                previous = breakpoint
            }
            return p.indices.map { sign[$0] * min(lambda * abs(w[$0]), room[$0]) }
        }
    }
}
