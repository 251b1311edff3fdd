import Foundation
import Synchronization
import TensorEngineAVX512

extension Kernels {
    /// The machine's single-precision FMA peak as the engine's kernels can reach it, in GFLOP/s:
    /// register-only rounds of independent FMAs at the vector width `simd` runs at, on `threads`
    /// threads started together (`runTogether`), best of `trials` timings of about 30 ms each.
    /// Benchmarks report kernels and whole models as a fraction of it; the CPU's clock under load
    /// (and, on a shared host, its neighbours) is in the figure, which a data sheet's peak would
    /// leave out.
    ///
    /// The probe once ran on `DispatchQueue.concurrentPerform`, which may run every iteration on the
    /// calling thread while its pool's threads start: on an AVX-512 host it read one core's peak
    /// (283 GFLOP/s where two threads reach 573), and kernels showed as 140 % of it.
    public static func measuredPeakGFLOPS(
        threads: Int = EngineThreads.count,
        simd: SIMDLevel = .active,
        trials: Int = 5
    ) -> Double {
        let level = simd.supported
        let flopsPerRound = Double(fmaPeakFlopsPerRound(level))
        let rounds = level == .avx512 ? 8_000_000 : 16_000_000
        let count = max(threads, 1)
        var best = 0.0
        for trial in 0..<max(trials, 1) {
            let seconds = runTogether(count) { thread in
                let value = fmaPeakValue(rounds, seed: Float(trial * 31 + thread + 1), simd: level)
                // Keeps the loops alive: the result is never this, but the optimiser cannot know.
                if value == .infinity { print("") }
            }
            best = max(best, flopsPerRound * Double(rounds) * Double(count) / seconds / 1e9)
        }
        return best
    }

    /// Runs `body(0)`…`body(threads − 1)` on `threads` threads at once (the caller and threads of
    /// its own, each started before any body runs) and returns the seconds from the start of the
    /// bodies to the end of the last.
    public static func runTogether(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
        let rendezvous = Rendezvous()
        let count = max(threads, 1)
        for index in 1..<count {
            let thread = Thread {
                rendezvous.ready.add(1, ordering: .releasing)
                while !rendezvous.go.load(ordering: .acquiring) {}
                body(index)
                rendezvous.finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
        while rendezvous.ready.load(ordering: .acquiring) < count - 1 {}
        let clock = ContinuousClock()
        let start = clock.now
        rendezvous.go.store(true, ordering: .releasing)
        body(0)
        while rendezvous.finished.load(ordering: .acquiring) < count - 1 {}
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The flags `runTogether`'s threads meet on.
    private final class Rendezvous: Sendable {
        let ready = Atomic<Int>(0)
        let go = Atomic<Bool>(false)
        let finished = Atomic<Int>(0)
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
