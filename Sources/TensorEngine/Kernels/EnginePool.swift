import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The engine's own worker threads for `parallelChunks`: `EngineThreads.count − 1` threads that stay
/// alive, spin for a short while after each parallel region and then sleep.
///
/// `DispatchQueue.concurrentPerform` cost about 60 µs per call on the 2-core VMs this runs on
/// (its worker woke that late: two chunks of 94 µs took 155 µs, of 375 µs 440 µs; measured with the
/// other core idle), and a training step runs hundreds of parallel regions back to back. A worker
/// that is still spinning when the next region is published starts it within nanoseconds.
///
/// One region runs at a time: a caller that finds the pool taken (a region of another thread, or a
/// call from inside a region's body) runs its whole range itself, as `parallelChunks` does for
/// small work, so results never depend on which thread ran what. Chunks are claimed by compare-and-
/// swap on one word that holds the region's generation and its next chunk, so a chunk of one region
/// can never be claimed against another's; the caller claims chunks too and returns when all of
/// them are done.
@usableFromInline
final class EnginePool: @unchecked Sendable {
    /// `RKD_ENGINE_POOL=dispatch` runs parallel regions on `DispatchQueue.concurrentPerform` instead
    /// (the engine before the pool; for comparisons, and a way out should the pool misbehave).
    @usableFromInline static let usesDispatch = ProcessInfo.processInfo.environment["RKD_ENGINE_POOL"] == "dispatch"

    /// The process's pool, with `EngineThreads.count − 1` workers.
    @usableFromInline static let shared = EnginePool(workers: EngineThreads.count - 1)

    /// Generation (high 32 bits; odd while the caller writes a region) and next chunk (low 32 bits).
    private let state = Atomic<UInt64>(0)
    /// The current region's chunk count, range length and chunk length.
    private let chunks = Atomic<Int>(0)
    private let count = Atomic<Int>(0)
    private let per = Atomic<Int>(0)
    /// Chunks of the current region finished.
    private let done = Atomic<Int>(0)
    /// Whether a region is in flight.
    private let busy = Atomic<Bool>(false)
    /// The current region's body; written while the generation is odd, read by a thread only after it
    /// claimed a chunk of that region.
    private var body: ((Range<Int>) -> Void)?
    /// Sleeping workers wait on `wake`; `sleepers` is guarded by `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0
    /// Worker threads.
    let workers: Int
    /// State loads a worker spins through (tens of microseconds) before it sleeps.
    static let spinLimit = 50_000

    init(workers: Int) {
        self.workers = max(0, workers)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for index in 0..<self.workers {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "rkd-engine-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body` on `chunks` contiguous chunks of `per` items of `0..<count` (the last shorter), on
    /// the calling thread and the workers; returns when every chunk is done.
    @usableFromInline
    func run(count n: Int, chunks k: Int, per p: Int, _ body: (Range<Int>) -> Void) {
        guard workers > 0, k > 1,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            body(0..<n)
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escapable in
            let generation = state.load(ordering: .relaxed) >> 32
            // Odd while the region is written; the generation wraps at 2³² (a worker only compares it).
            state.store(((generation + 1) & 0xFFFF_FFFF) << 32, ordering: .releasing)
            self.body = escapable
            chunks.store(k, ordering: .relaxed)
            count.store(n, ordering: .relaxed)
            per.store(p, ordering: .relaxed)
            done.store(0, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            let published = (generation + 2) & 0xFFFF_FFFF
            state.store(published << 32, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(mutex)
            claimAndRun(generation: published)
            var spins = 0
            while done.load(ordering: .acquiring) < k {
                spins += 1
                if spins > 10_000 { sched_yield() }
            }
            self.body = nil
        }
    }

    /// Claims and runs chunks of region `generation` until none is left (or another region began).
    private func claimAndRun(generation: UInt64) {
        while true {
            let s = state.load(ordering: .acquiring)
            guard s >> 32 == generation else { return }
            let index = Int(s & 0xFFFF_FFFF)
            guard index < chunks.load(ordering: .relaxed) else { return }
            guard state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            // Claimed: the region cannot change until this chunk is counted done.
            runChunk(index)
            done.add(1, ordering: .releasing)
        }
    }

    /// Runs chunk `index` of the current region. A function of its own so that its reference to the
    /// body is released when it returns, before the chunk is counted done (the caller's
    /// `withoutActuallyEscaping` then finds the body unescaped).
    @inline(never)
    private func runChunk(_ index: Int) {
        let p = per.load(ordering: .relaxed)
        let start = index * p
        let end = min(count.load(ordering: .relaxed), start + p)
        if start < end, let body { body(start..<end) }
    }

    private func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var generation = state.load(ordering: .acquiring) >> 32
            var spins = 0
            while (generation == seen || generation & 1 == 1) && spins < Self.spinLimit {
                spins += 1
                generation = state.load(ordering: .acquiring) >> 32
            }
            if generation == seen || generation & 1 == 1 {
                pthread_mutex_lock(mutex)
                while true {
                    generation = state.load(ordering: .acquiring) >> 32
                    if generation != seen && generation & 1 == 0 { break }
                    sleepers += 1
                    pthread_cond_wait(wake, mutex)
                    sleepers -= 1
                }
                pthread_mutex_unlock(mutex)
            }
            seen = generation
            claimAndRun(generation: generation)
        }
    }
}
