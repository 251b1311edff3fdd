import TensorEngine

/// Closeness measures for comparing a fast result with its oracle.
public enum Tolerance {
    /// max |a − b| / max(1, max |b|): an error relative to the oracle's scale.
    public static func scaledMaxError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "scaledMaxError: \(a.count) vs \(b.count) elements")
        var worst = 0.0
        var scale = 1.0
        for (x, y) in zip(a, b) {
            worst = max(worst, Swift.abs(Double(x) - Double(y)))
            scale = max(scale, Swift.abs(Double(y)))
        }
        return worst / scale
    }

    /// Whether every element satisfies |a − b| ≤ atol + rtol·|b| (NumPy `allclose`); NaNs match NaNs.
    public static func allClose(_ a: [Float], _ b: [Float], rtol: Double = 1e-4, atol: Double = 1e-4) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            if x.isNaN || y.isNaN {
                if !(x.isNaN && y.isNaN) { return false }
                continue
            }
            if x == y { continue }
            if Swift.abs(Double(x) - Double(y)) > atol + rtol * Swift.abs(Double(y)) { return false }
        }
        return true
    }
}
