// Per-example vector helpers shared by the attacks. Inputs are flat (N·D) arrays; example k is the
// slice k·D..<(k+1)·D.

/// The rows `keep` of a flat array of rows of `width` values.
func rows(_ a: [Float], _ keep: [Int], width: Int) -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(keep.count * width)
    for k in keep { out.append(contentsOf: a[k * width..<(k + 1) * width]) }
    return out
}

/// The elements `keep` of an array.
func rows<T>(_ a: [T], _ keep: [Int]) -> [T] { keep.map { a[$0] } }

/// The steepest-ascent direction of a gradient for a norm, per example: sign(g) for L∞,
/// g/‖g‖₂ for L2 (0 where the gradient is 0).
func ascentDirection(_ g: [Float], norm: PerturbationNorm, width: Int) -> [Float] {
    switch norm {
    case .linf:
        return g.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    case .l2:
        var out = g
        for start in stride(from: 0, to: g.count, by: width) {
            var squared: Float = 0
            for i in start..<start + width { squared += g[i] * g[i] }
            let scale = 1 / (squared.squareRoot() + 1e-12)
            for i in start..<start + width { out[i] = g[i] * scale }
        }
        return out
    }
}

extension ThreatModel {
    /// A uniformly random point of the ball around one example, written into `x[range]` (then
    /// projected onto the bounds): L∞ uniform in [−ε, ε] per value; L2 a Gaussian direction scaled to
    /// a length ε·u, u uniform in [0, 1] (the random start of torchattacks and of Madry et al.'s code).
    func randomStart(
        _ x: inout [Float],
        around x0: [Float],
        range: Range<Int>,
        bounds: ClosedRange<Float>,
        generator: inout RandomGeneratorBox
    ) {
        switch norm {
        case .linf:
            for i in range { x[i] = x0[i] + epsilon * (2 * generator.uniform() - 1) }
        case .l2:
            var delta = range.map { _ in generator.normal() }
            let length = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let radius = epsilon * generator.uniform()
            let scale = length > 0 ? radius / length : 0
            for (k, i) in range.enumerated() {
                delta[k] *= scale
                x[i] = x0[i] + delta[k]
            }
        }
        project(&x, around: x0, range: range, bounds: bounds)
    }
}
