/// The Square attack, L∞ or L2: a black-box, score-based random search (no gradients).
///
/// Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient black-box
/// adversarial attack via random search", arXiv 1912.00049, Algorithms 1–3, as the AutoAttack
/// reference runs it: margin loss z_y − max_{i≠y} z_i minimised; L∞ start from vertical stripes of
/// ±ε, then per iteration one s×s window set to ±ε per channel; L2 start from a grid of
/// pseudo-Gaussian bumps, then per iteration mass moved from a second window into a new bump in the
/// first; side s = round(√(p·C·H·W / C)) with p from `pInit` halved after iterations 10, 50, 200,
/// 500, 1000, 2000, 4000, 6000 and 8000 (not rescaled to the query budget, as in the standard run).
/// A candidate is kept when it lowers the loss or misclassifies.
///
/// One difference from the reference code: the reference draws one window position (and sign) per
/// iteration for the whole batch; here each example draws its own from its own stream, so that an
/// example's result does not depend on its batch. Both are the paper's algorithm.
public struct Square: Attack {
    public let threat: ThreatModel
    /// The query budget (iterations after the first query).
    public let queries: Int
    /// The initial fraction p of pixels changed per iteration.
    public let pInit: Float
    /// Extra runs, each on the examples still robust (0: one run).
    public let restarts: Int

    /// Square with the AutoAttack standard settings: 5000 queries, p_init 0.8, one run.
    public init(_ norm: PerturbationNorm, epsilon: Float, queries: Int = 5000, pInit: Float = 0.8, restarts: Int = 0) {
        threat = ThreatModel(norm, epsilon: epsilon)
        self.queries = queries
        self.pInit = pInit
        self.restarts = restarts
    }

    public var name: String { "square" }
    public var settings: [String: String] {
        [
            "norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "queries": "\(queries)",
            "p_init": "\(pInit)", "restarts": "\(restarts)", "loss": "margin", "rescale_schedule": "false",
        ]
    }

    /// The fraction p at iteration `iteration` (the reference's schedule, not rescaled).
    func p(at iteration: Int) -> Float {
        let halvings: Int
        switch iteration {
        case ...10: halvings = 0
        case ...50: halvings = 1
        case ...200: halvings = 2
        case ...500: halvings = 3
        case ...1000: halvings = 4
        case ...2000: halvings = 5
        case ...4000: halvings = 6
        case ...6000: halvings = 7
        case ...8000: halvings = 8
        default: halvings = 9
        }
        return pInit / Float(1 << halvings)
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        guard queries >= 0, restarts >= 0, pInit > 0, pInit <= 1 else {
            throw AttackError(
                .invalidConfiguration,
                "square: queries and restarts must be ≥ 0 and p_init in (0, 1] (got \(queries), \(restarts), \(pInit))"
            )
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let geometry = try SquareGeometry(model.inputShape)
        for restart in 0...restarts {
            let positions = tracker.robustPositions
            if positions.isEmpty { break }
            var random = positions.map {
                RandomGeneratorBox(
                    seed: batch.seed,
                    example: batch.indices[$0],
                    stream: ExampleRandom.stream(name, restart)
                )
            }
            try singleRun(
                model,
                geometry: geometry,
                batch: batch,
                positions: positions,
                random: &random,
                tracker: &tracker
            )
        }
        return tracker.result()
    }

    private func singleRun(
        _ model: some AttackModel,
        geometry g: SquareGeometry,
        batch: AttackBatch,
        positions: [Int],
        random: inout [RandomGeneratorBox],
        tracker: inout AdversarialTracker
    ) throws {
        let d = g.count
        let bounds = model.inputBounds
        let eps = threat.epsilon
        var x0 = rows(batch.inputs, positions, width: d)
        var labels = rows(batch.labels, positions)
        var active = positions
        var best = x0
        for e in active.indices {
            let start = threat.norm == .linf ? g.stripes(&random[e]) : g.bumpGrid(&random[e])
            let scale = threat.norm == .linf ? eps : eps / (start.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12)
            for j in 0..<d {
                best[e * d + j] = min(max(x0[e * d + j] + scale * start[j], bounds.lowerBound), bounds.upperBound)
            }
        }
        var e0 = try model.evaluate(best, count: active.count)
        for p in active { tracker.queries[p] += 1 }
        tracker.offer(best, logits: e0.logits, positions: active)
        var margin = classificationMargins(e0.logits, labels: labels, classes: model.classCount)

        for iteration in 0..<queries {
            // Examples whose margin is ≤ 0 are fooled; the rest go on.
            let keep = active.indices.filter { margin[$0] > 0 }
            if keep.isEmpty { break }
            if keep.count < active.count {
                active = rows(active, keep)
                labels = rows(labels, keep)
                x0 = rows(x0, keep, width: d)
                best = rows(best, keep, width: d)
                margin = rows(margin, keep)
                random = rows(random, keep)
            }
            let p = p(at: iteration)
            var candidates = best
            for e in active.indices {
                let range = e * d..<(e + 1) * d
                let proposal: [Float]
                switch threat.norm {
                case .linf:
                    proposal = g.linfProposal(
                        best: Array(best[range]),
                        clean: Array(x0[range]),
                        p: p,
                        eps: eps,
                        random: &random[e]
                    )
                case .l2:
                    proposal = g.l2Proposal(
                        best: Array(best[range]),
                        clean: Array(x0[range]),
                        p: p,
                        eps: eps,
                        random: &random[e]
                    )
                }
                for (j, i) in range.enumerated() {
                    candidates[i] = min(max(proposal[j], bounds.lowerBound), bounds.upperBound)
                }
                if threat.norm == .linf { threat.project(&candidates, around: x0, range: range, bounds: bounds) }
            }
            e0 = try model.evaluate(candidates, count: active.count)
            for p in active { tracker.queries[p] += 1 }
            let newMargin = classificationMargins(e0.logits, labels: labels, classes: model.classCount)
            for e in active.indices where newMargin[e] < margin[e] || newMargin[e] <= 0 {
                margin[e] = newMargin[e]
                best.replaceSubrange(e * d..<(e + 1) * d, with: candidates[e * d..<(e + 1) * d])
            }
            tracker.offer(candidates, logits: e0.logits, positions: active)
        }
    }
}

/// The image geometry of the Square attack and its proposal distributions.
struct SquareGeometry {
    let c: Int, h: Int, w: Int
    var count: Int { c * h * w }

    init(_ shape: [Int]) throws {
        switch shape.count {
        case 3: (c, h, w) = (shape[0], shape[1], shape[2])
        case 2: (c, h, w) = (1, shape[0], shape[1])
        case 1: (c, h, w) = (1, 1, shape[0])
        default:
            throw AttackError(.modelOutput, "square: inputs of shape \(shape) are not images (C, H, W)")
        }
    }

    /// The side of the square for a fraction p of the pixels, at least `minimum`, at most the image.
    func side(p: Float, minimum: Int) -> Int {
        let s = max(Int((p * Float(count) / Float(c)).squareRoot().rounded()), minimum)
        return min(s, min(h, w))
    }

    /// ±1 per channel and column (vertical stripes), (C, H, W) flat.
    func stripes(_ random: inout RandomGeneratorBox) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for ch in 0..<c {
            for col in 0..<w {
                let s = random.sign()
                for row in 0..<h { out[(ch * h + row) * w + col] = s }
            }
        }
        return out
    }

    /// L∞ proposal: the best point with one s×s window set to clean ± 2ε per channel (then clipped
    /// to the ball by the caller).
    func linfProposal(best: [Float], clean: [Float], p: Float, eps: Float, random: inout RandomGeneratorBox) -> [Float]
    {
        let s = side(p: p, minimum: 1)
        let top = random.int(below: h - s + 1)
        let left = random.int(below: w - s + 1)
        var out = best
        for ch in 0..<c {
            let delta = 2 * eps * random.sign()
            for row in top..<top + s {
                for col in left..<left + s {
                    let i = (ch * h + row) * w + col
                    out[i] = best[i] + delta
                }
            }
        }
        return out
    }

    /// The pseudo-Gaussian bump η of side s (a difference of two stacks of nested rectangles with
    /// weights 1/(k+1)², unit L2 norm), transposed with probability ½.
    func bump(_ s: Int, random: inout RandomGeneratorBox) -> [Float] {
        func rectangles(_ rowsCount: Int, _ cols: Int) -> [Float] {
            var delta = [Float](repeating: 0, count: rowsCount * cols)
            let (cr, cc) = (rowsCount / 2 + 1, cols / 2 + 1)
            var (r0, c0) = (cr - 1, cc - 1)
            for k in 0..<max(cr, cc) {
                let weight = 1 / Float((k + 1) * (k + 1))
                for r in max(r0, 0)..<min(r0 + 2 * k + 1, rowsCount) {
                    for col in max(c0, 0)..<min(c0 + 2 * k + 1, cols) { delta[r * cols + col] += weight }
                }
                r0 -= 1
                c0 -= 1
            }
            let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? delta.map { $0 / norm } : delta
        }
        var delta = rectangles(s / 2, s) + rectangles(s - s / 2, s).map { -$0 }
        let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { delta = delta.map { $0 / norm } }
        if random.uniform() > 0.5 {
            var transposed = delta
            for r in 0..<s { for col in 0..<s { transposed[col * s + r] = delta[r * s + col] } }
            delta = transposed
        }
        return delta
    }

    /// L2 start: a grid of bumps of side ⌊H/5⌋, each with a random sign per channel (unnormalised).
    func bumpGrid(_ random: inout RandomGeneratorBox) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let s = max(h / 5, 1)
        let margin = (h - s * 5) / 2
        var top = max(margin, 0)
        for _ in 0..<(h / s) {
            var left = max(margin, 0)
            for _ in 0..<(w / s) {
                let eta = bump(s, random: &random)
                for ch in 0..<c {
                    let sign = random.sign()
                    for r in 0..<s where top + r < h {
                        for col in 0..<s where left + col < w {
                            out[(ch * h + top + r) * w + left + col] += eta[r * s + col] * sign
                        }
                    }
                }
                left += s
            }
            top += s
        }
        return out
    }

    /// L2 proposal: moves the perturbation's mass from a second random window into a new bump (plus
    /// the old content) in a first window, then rescales the whole perturbation to length ε.
    func l2Proposal(best: [Float], clean: [Float], p: Float, eps: Float, random: inout RandomGeneratorBox) -> [Float] {
        var s = side(p: p, minimum: 3)
        if s % 2 == 0 { s = s + 1 <= min(h, w) ? s + 1 : s - 1 }
        s = max(s, 1)
        var delta = zip(best, clean).map { $0 - $1 }
        let top = random.int(below: h - s + 1)
        let left = random.int(below: w - s + 1)
        let top2 = random.int(below: h - s + 1)
        let left2 = random.int(below: w - s + 1)
        func inWindow(_ row: Int, _ col: Int, _ t: Int, _ l: Int) -> Bool {
            row >= t && row < t + s && col >= l && col < l + s
        }
        let imageNorm2 = delta.reduce(0) { $0 + $1 * $1 }
        var windowsNorm2: Float = 0  // the perturbation inside either window, over all channels
        for ch in 0..<c {
            for row in 0..<h {
                for col in 0..<w where inWindow(row, col, top, left) || inWindow(row, col, top2, left2) {
                    let v = delta[(ch * h + row) * w + col]
                    windowsNorm2 += v * v
                }
            }
        }
        let eta = bump(s, random: &random)
        var newWindows: [[Float]] = []
        for ch in 0..<c {
            var windowNorm2: Float = 0
            for r in 0..<s { for col in 0..<s { windowNorm2 += pow2(delta[(ch * h + top + r) * w + left + col]) } }
            let sign = random.sign()
            var window = [Float](repeating: 0, count: s * s)
            for r in 0..<s {
                for col in 0..<s {
                    window[r * s + col] =
                        eta[r * s + col] * sign + delta[(ch * h + top + r) * w + left + col]
                        / (1e-12 + windowNorm2.squareRoot())
                }
            }
            let norm = window.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let target = (max(eps * eps - imageNorm2, 0) / Float(c) + windowsNorm2).squareRoot()
            newWindows.append(window.map { $0 / (1e-12 + norm) * target })
        }
        for ch in 0..<c {
            for r in 0..<s { for col in 0..<s { delta[(ch * h + top2 + r) * w + left2 + col] = 0 } }
        }
        for ch in 0..<c {
            for r in 0..<s {
                for col in 0..<s { delta[(ch * h + top + r) * w + left + col] = newWindows[ch][r * s + col] }
            }
        }
        let length = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return (0..<count).map { clean[$0] + delta[$0] / (length + 1e-12) * eps }
    }
}

private func pow2(_ x: Float) -> Float { x * x }
