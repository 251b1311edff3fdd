import TensorEngineTestSupport
import Testing

@testable import TensorEngine

/// The packed F(4×4, 3×3) filter transforms, four filters per vector: each U equals one computed
/// alone in Double with the same expressions (bit for bit), and G·f·Gᵀ by naive matrix products;
/// entries past K are zero.
@Suite("Winograd F(4×4) filter transforms")
struct WinogradFilterTransformTests {
    /// C = 6 leaves a group of two filters after one of four; K = 5 a partial block of output
    /// channels.
    @Test func packedTransformsEqualOneFilterAtATime() {
        let (k, c) = (5, 6)
        let g = Conv2DGeometry(
            batch: 1,
            inChannels: c,
            height: 8,
            width: 8,
            outChannels: k,
            kernelHeight: 3,
            kernelWidth: 3,
            padTop: 1,
            padLeft: 1,
            padBottom: 1,
            padRight: 1
        )
        let plan = WinogradPlan(g, tile: 4, simd: .active)
        var rng = RandomGenerator(seed: 41)
        let w = kernelRandom(k * c * 9, &rng)
        let packed = w.withUnsafeBufferPointer { Kernels.winograd4Filters($0.baseAddress.unsafelyUnwrapped, plan) }
        #expect(packed.count == plan.filterCount)
        // G's rows as fractions; the scalar transform: columns of G·f, then rows times Gᵀ.
        let gRows: [[Double]] = [
            [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
        ]
        func timesG(_ a0: Double, _ a1: Double, _ a2: Double) -> [Double] {
            [
                a0 / 4, -(a0 + a1 + a2) / 6, -(a0 - a1 + a2) / 6, a0 / 24 + a1 / 12 + a2 / 6,
                a0 / 24 - a1 / 12 + a2 / 6, a2,
            ]
        }
        let blockStride = plan.channelBlocks * c * 4
        var written = Set<Int>()
        for ki in 0..<k {
            for ci in 0..<c {
                let f = (0..<9).map { Double(w[(ki * c + ci) * 9 + $0]) }
                let columns = (0..<3).map { s in timesG(f[s], f[3 + s], f[6 + s]) }
                for r in 0..<6 {
                    let row = timesG(columns[0][r], columns[1][r], columns[2][r])
                    for j in 0..<6 {
                        let at = (6 * r + j) * blockStride + ((ki / 4) * c + ci) * 4 + ki % 4
                        written.insert(at)
                        #expect(packed[at] == Float(row[j]), "k \(ki) c \(ci) ξ \(6 * r + j)")
                        // Naive: Σ_a Σ_b G[r][a]·f[a][b]·G[j][b].
                        var naive = 0.0
                        for a in 0..<3 {
                            for b in 0..<3 { naive += gRows[r][a] * f[3 * a + b] * gRows[j][b] }
                        }
                        #expect(abs(Double(packed[at]) - naive) <= 1e-6 * max(1, abs(naive)))
                    }
                }
            }
        }
        for at in packed.indices where !written.contains(at) { #expect(packed[at] == 0) }
    }
}
