import Dispatch
import Glibc
import Synchronization
import Testing

@testable import TensorEngine

/// A count several threads add to.
final class SharedCount: Sendable {
    let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

@Suite("Engine worker pool")
struct EnginePoolTests {
    /// Runs one region of `count` items in `chunks` chunks on `pool`, each item marking its slot, and
    /// returns the marks (each must be 1).
    static func marks(_ pool: EnginePool, count: Int, chunks: Int, offCaller: SharedCount? = nil) -> [Int] {
        var marks = [Int](repeating: 0, count: count)
        let per = (count + chunks - 1) / chunks
        let caller = pthread_self()
        marks.withUnsafeMutableBufferPointer { buffer in
            let pointer = UncheckedSendable(buffer)
            pool.run(count: count, chunks: chunks, per: per) { range in
                if pthread_equal(pthread_self(), caller) == 0 { offCaller?.add() }
                for i in range {
                    var v = 0
                    for j in 0..<50 { v &+= j &* i }  // a little work per item, to widen the races
                    pointer.value[i] += 1 + (v == -1 ? 1 : 0)
                }
            }
        }
        return marks
    }

    /// Thousands of regions of every size on pools of one to three workers: every item runs exactly
    /// once, whatever thread claims its chunk; and the workers do claim chunks.
    @Test(arguments: [1, 3])
    func everyItemRunsOnceInEveryRegion(workers: Int) {
        let pool = EnginePool(workers: workers)
        var rng = RandomGenerator(seed: UInt64(workers))
        var failures = 0
        let offCaller = SharedCount()
        for region in 0..<5000 {
            let count = 2 + Int(rng.nextUniform() * 300)
            let chunks = min(count, 2 + region % 4)
            let marks = Self.marks(pool, count: count, chunks: chunks, offCaller: offCaller)
            if marks != [Int](repeating: 1, count: count) { failures += 1 }
        }
        #expect(failures == 0)
        // Regions whose caller sleeps inside its own chunk leave the other chunks to the workers
        // (however busy the machine, a worker gets the core while the caller sleeps).
        var attempts = 0
        while offCaller.current == 0 && attempts < 500 {
            attempts += 1
            let caller = pthread_self()
            pool.run(count: 2 * (workers + 1), chunks: workers + 1, per: 2) { range in
                if pthread_equal(pthread_self(), caller) != 0 {
                    usleep(2000)
                } else {
                    offCaller.add()
                }
                _ = range
            }
        }
        #expect(offCaller.current > 0, "no chunk ran on a worker in \(attempts) sleeping regions")
    }

    /// A region started from inside a region's body (nested parallelism) runs on its caller alone;
    /// so do regions that several threads start at once: each gets all of its items exactly once.
    @Test func nestedAndConcurrentRegionsRunTheirItemsOnce() {
        let pool = EnginePool(workers: 1)
        var outer = [[Int]](repeating: [], count: 4)
        outer.withUnsafeMutableBufferPointer { buffer in
            let slots = UncheckedSendable(buffer)
            pool.run(count: 4, chunks: 2, per: 2) { range in
                for i in range { slots.value[i] = Self.marks(pool, count: 50, chunks: 2) }
            }
        }
        #expect(outer.allSatisfy { $0 == [Int](repeating: 1, count: 50) })

        let failures = SharedCount()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for region in 0..<500 {
                let count = 10 + (region * 7 + thread) % 200
                if Self.marks(pool, count: count, chunks: 2) != [Int](repeating: 1, count: count) {
                    failures.add()
                }
            }
        }
        #expect(failures.current == 0)
    }

    /// `parallelChunks` on the shared pool computes what a serial loop does.
    @Test func theSharedPoolMatchesASerialRun() {
        let n = 100_000
        var rng = RandomGenerator(seed: 8)
        let x = (0..<n).map { _ in rng.nextNormal() }
        var pooled = [Float](repeating: 0, count: n)
        var serial = [Float](repeating: 0, count: n)
        pooled.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedSendable(buffer)
            parallelChunks(n, costPerItem: 64) { range in
                for i in range { out.value[i] = x[i] * x[i] + 1 }
            }
        }
        for i in 0..<n { serial[i] = x[i] * x[i] + 1 }
        #expect(pooled == serial)
    }

    /// The direct filter gradient sums each part of the batch on one thread and adds the parts in a
    /// fixed order: run on the pool (the parts on two threads) and run serially (inside another
    /// region, where the pool runs it on one thread), it is the same bit for bit.
    @Test func directFilterGradientIsTheSameOnOneThreadAsOnThePool() {
        // 3×3, padding 1, on 28×28 inputs: several chunks of images in both parts, groups, stride 2,
        // and 16 output channels (with AVX-512 the kernel with output channels in the lanes).
        func geometry(_ n: Int, _ c: Int, _ k: Int, stride: Int = 1, groups: Int = 1) -> Conv2DGeometry {
            Conv2DGeometry(
                batch: n,
                inChannels: c,
                height: 28,
                width: 28,
                outChannels: k,
                kernelHeight: 3,
                kernelWidth: 3,
                strideH: stride,
                strideW: stride,
                padTop: 1,
                padLeft: 1,
                padBottom: 1,
                padRight: 1,
                groups: groups
            )
        }
        let cases = [
            geometry(10, 16, 8), geometry(19, 4, 4, groups: 2), geometry(33, 4, 8, stride: 2), geometry(10, 16, 16),
        ]
        for g in cases {
            #expect(g.validate() == nil)
            var rng = RandomGenerator(seed: 7)
            let x = (0..<(g.batch * g.inChannels * g.height * g.width)).map { _ in rng.nextNormal() }
            let dy = (0..<(g.batch * g.outChannels * g.outHeight * g.outWidth)).map { _ in rng.nextNormal() }
            // .winograd: with AVX-512 and 16 channels, F(2×2)'s adjoint with channels in the lanes.
            for algorithm in [Conv2DAlgorithm.direct, .winograd] where algorithm == .direct || g.strideH == 1 {
                let pooled = Kernels.conv2dBackwardFilter(x, dy, g, algorithm: algorithm)
                var serial = [Float]()
                withUnsafeMutablePointer(to: &serial) { pointer in
                    let result = UncheckedSendable(pointer)
                    EnginePool.shared.run(count: 2, chunks: 2, per: 1) { range in
                        if range.lowerBound == 0 {
                            result.value.pointee = Kernels.conv2dBackwardFilter(x, dy, g, algorithm: algorithm)
                        }
                    }
                }
                #expect(serial.count == pooled.count)
                #expect(serial.map(\.bitPattern) == pooled.map(\.bitPattern), "\(g) \(algorithm)")
            }
        }
    }
}
