import Foundation
import TensorEngine
import Testing

@Suite("FMA peak probe")
struct PeakProbeTests {
    /// Every lane of the peak loop runs a ← c + a·m from a = seed with m = 0.999, c = seed·5e-4:
    /// after n rounds a = mⁿ·seed + c·(1 − mⁿ)/(1 − m). The loop's sum over its lanes (384 with
    /// AVX-512, 96 with AVX2) must equal lanes × that, so the timed loop really runs every FMA; and
    /// the peak counts 2 operations per lane and round, no more (the AVX2 probe once counted 384 per
    /// round for its 96 lanes and read twice the machine's peak).
    @Test(arguments: SIMDLevel.allCases.filter { $0.supported == $0 })
    func peakLoopsComputeTheRecurrence(_ simd: SIMDLevel) {
        let rounds = 2_000
        let seed: Float = 3
        // The loop's constants as the Float values it uses.
        let m = Double(Float(0.999))
        let c = Double(seed * 5e-4)
        let mn = pow(m, Double(rounds))
        let lane = mn * Double(seed) + c * (1 - mn) / (1 - m)
        let lanes = simd == .avx512 ? 384.0 : 96.0
        let value = Double(Kernels.fmaPeakValue(rounds, seed: seed, simd: simd))
        #expect(abs(value - lanes * lane) <= 1e-5 * lanes * lane, "\(simd): \(value) vs \(lanes * lane)")
        #expect(Kernels.fmaPeakLanes(simd) == Int(lanes))
        #expect(Kernels.fmaPeakFlopsPerRound(simd) == 2 * Int(lanes))
    }

    @Test func measuredPeakIsPositiveAndFinite() {
        let peak = Kernels.measuredPeakGFLOPS(threads: 1, trials: 1)
        #expect(peak > 0 && peak.isFinite)
    }
}
