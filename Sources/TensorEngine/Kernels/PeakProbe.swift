import Dispatch
import TensorEngineAVX512

extension Kernels {
    /// The machine's single-precision FMA peak as the engine's kernels can reach it, in GFLOP/s:
    /// register-only rounds of independent FMAs at the vector width `simd` runs at, on `threads`
    /// threads at once, best of `trials` timings of about 50 ms each. Benchmarks report kernels and
    /// whole models as a fraction of it; the CPU's clock under load (and, on a shared host, its
    /// neighbours) is in the figure, which a data sheet's peak would leave out.
    public static func measuredPeakGFLOPS(
        threads: Int = EngineThreads.count,
        simd: SIMDLevel = .active,
        trials: Int = 5
    ) -> Double {
        let level = simd.supported
        let flopsPerRound = Double(fmaPeakFlopsPerRound(level))
        let rounds = level == .avx512 ? 2_000_000 : 4_000_000
        let clock = ContinuousClock()
        var best = 0.0
        for trial in 0..<max(trials, 1) {
            let start = clock.now
            DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { thread in
                let seed = Float(trial * 31 + thread + 1)
                let value = fmaPeakValue(rounds, seed: seed, simd: level)
                // Keeps the loops alive: the result is never this, but the optimiser cannot know.
                if value == .infinity { print("") }
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            best = max(best, flopsPerRound * Double(rounds) * Double(max(threads, 1)) / seconds / 1e9)
        }
        return best
    }

    /// Lanes of the peak loop at `simd`'s width: 24 SIMD16 accumulators with AVX-512, 12 SIMD8 with AVX2.
    public static func fmaPeakLanes(_ simd: SIMDLevel) -> Int {
        simd.supported == .avx512 ? 24 * 16 : 12 * 8
    }

    /// Floating-point operations per round of the peak loop: one FMA (2 operations) per lane.
    public static func fmaPeakFlopsPerRound(_ simd: SIMDLevel) -> Int {
        2 * fmaPeakLanes(simd)
    }

    /// The sum over every lane of the peak loop at `simd`'s width (`fmaPeakLanes`), each lane after
    /// `rounds` steps of a ← c + a·m from a = seed (tested against that recurrence's closed form).
    public static func fmaPeakValue(_ rounds: Int, seed: Float, simd: SIMDLevel) -> Float {
        simd.supported == .avx512 ? fmaPeakRounds512(rounds, seed: seed) : fmaPeakRounds(rounds, seed: seed)
    }

    /// The AVX2 twin of TensorEngineAVX512's fmaPeakRounds512: 12 independent SIMD8 FMAs per round
    /// (192 floating-point operations).
    @inline(never)
    static func fmaPeakRounds(_ iterations: Int, seed: Float) -> Float {
        typealias V = SIMD8<Float>
        let m = V(repeating: 0.999)
        let c = V(repeating: seed * 5e-4)
        var a = (V(repeating: seed), V(repeating: seed), V(repeating: seed), V(repeating: seed))
        var b = a
        var d = a
        for _ in 0..<iterations {
            a.0 = c.addingProduct(a.0, m)
            a.1 = c.addingProduct(a.1, m)
            a.2 = c.addingProduct(a.2, m)
            a.3 = c.addingProduct(a.3, m)
            b.0 = c.addingProduct(b.0, m)
            b.1 = c.addingProduct(b.1, m)
            b.2 = c.addingProduct(b.2, m)
            b.3 = c.addingProduct(b.3, m)
            d.0 = c.addingProduct(d.0, m)
            d.1 = c.addingProduct(d.1, m)
            d.2 = c.addingProduct(d.2, m)
            d.3 = c.addingProduct(d.3, m)
        }
        return (a.0 + a.1 + a.2 + a.3 + b.0 + b.1 + b.2 + b.3 + d.0 + d.1 + d.2 + d.3).sum()
    }
}
