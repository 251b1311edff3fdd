import Foundation
import Synchronization
import TensorEngine
import Testing

/// What `runTogether`'s bodies saw: which ran, whether one gave up waiting for the others, and the
/// kernel thread each ran on.
private final class TogetherProbe: Sendable {
    let threads: Int
    let started = Atomic<Int>(0)
    let ran = Atomic<Int>(0)
    let timedOut = Atomic<Int>(0)
    let ids: Mutex<[Int]> = Mutex([])

    init(_ threads: Int) { self.threads = threads }

    func run(_ index: Int) {
        started.add(1, ordering: .acquiringAndReleasing)
        let deadline = ContinuousClock.now + .seconds(20)
        while started.load(ordering: .acquiring) < threads {
            if ContinuousClock.now > deadline {
                timedOut.add(1, ordering: .relaxed)
                break
            }
        }
        ids.withLock { $0.append(Int(bitPattern: UInt(pthread_self()))) }
        ran.bitwiseOr(1 << index, ordering: .releasing)
    }

    func threadIDs() -> [Int] { ids.withLock { $0 } }
}

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

    /// Every body runs, each on a thread of its own, all at once: each one waits (up to 20 s) until
    /// all have started, which bodies run one after another (as `DispatchQueue.concurrentPerform`
    /// may) never see.
    @Test(arguments: [1, 2, 3])
    func runTogetherStartsEveryBodyAtOnce(_ threads: Int) {
        let probe = TogetherProbe(threads)
        let seconds = Kernels.runTogether(threads) { index in probe.run(index) }
        #expect(probe.ran.load(ordering: .acquiring) == (1 << threads) - 1)
        #expect(probe.timedOut.load(ordering: .acquiring) == 0, "bodies did not run at once")
        #expect(Set(probe.threadIDs()).count == threads)
        #expect(seconds >= 0)
    }

    @Test func measuredPeakIsPositiveAndFinite() {
        let peak = Kernels.measuredPeakGFLOPS(threads: 1, trials: 1)
        #expect(peak > 0 && peak.isFinite)
    }
}
