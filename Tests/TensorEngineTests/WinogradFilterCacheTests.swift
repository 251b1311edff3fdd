import TensorEngineTestSupport
import Testing

@testable import TensorEngine

/// Serialized: one test empties the process's cache, which the others' counts must not see.
@Suite("Winograd filter cache", .serialized)
struct WinogradFilterCacheTests {
    static let key = WinogradFilterCache.Key(tile: 2, outChannels: 1, inChannels: 1, adjoint: false)

    /// Looks `weights` up in `cache`, counting the transforms `make` ran.
    static func lookup(
        _ cache: WinogradFilterCache,
        _ weights: [Float],
        key: WinogradFilterCache.Key = key,
        made: inout Int
    )
        -> [Float]
    {
        var ran = 0
        let filters = weights.withUnsafeBufferPointer { w in
            w.baseAddress.map { base in
                cache.filters(key, weights: base, count: w.count) {
                    ran += 1
                    return w.map { 2 * $0 }
                }
            } ?? []
        }
        made += ran
        return filters
    }

    /// The same bits are a hit, one changed bit (even −0 for 0) a miss; the key takes part.
    @Test func entriesAreFoundByTheExactBitsOfTheWeightsAndTheKey() {
        let cache = WinogradFilterCache(budget: 1000)
        var made = 0
        let w: [Float] = [1, 2, 3, 0]
        #expect(Self.lookup(cache, w, made: &made) == [2, 4, 6, 0] && made == 1)
        #expect(Self.lookup(cache, w, made: &made) == [2, 4, 6, 0] && made == 1)
        #expect(Self.lookup(cache, [1, 2, 3, -0.0], made: &made) == [2, 4, 6, -0.0] && made == 2)
        _ = Self.lookup(cache, [1, 2, 3.0000002, 0], made: &made)
        #expect(made == 3)
        var adjoint = Self.key
        adjoint.adjoint = true
        _ = Self.lookup(cache, w, key: adjoint, made: &made)
        #expect(made == 4)
        #expect(cache.statistics == (hits: 1, misses: 4))
    }

    /// Past the budget the least recently used entry goes; an entry larger than the budget is made
    /// every time and never kept.
    @Test func theLeastRecentlyUsedEntryGoesFirst() {
        let cache = WinogradFilterCache(budget: 24)  // three entries of 4 weights and 4 filters
        var made = 0
        let a: [Float] = [1, 1, 1, 1]
        let b: [Float] = [2, 2, 2, 2]
        let c: [Float] = [3, 3, 3, 3]
        let d: [Float] = [4, 4, 4, 4]
        for w in [a, b, c, a] { _ = Self.lookup(cache, w, made: &made) }  // a is now the most recent
        #expect(made == 3)
        _ = Self.lookup(cache, d, made: &made)  // evicts b
        _ = Self.lookup(cache, a, made: &made)
        _ = Self.lookup(cache, c, made: &made)
        #expect(made == 4)
        _ = Self.lookup(cache, b, made: &made)
        #expect(made == 5)
        let large = [Float](repeating: 5, count: 13)
        _ = Self.lookup(cache, large, made: &made)
        _ = Self.lookup(cache, large, made: &made)
        #expect(made == 7)
    }

    /// Convolutions through the shared cache give, bit for bit, what they give with it emptied before
    /// each call, forward and input gradient, F(2×2) and F(4×4), when the weights change between
    /// calls and change back; the repeated weights are found.
    @Test(arguments: [Conv2DAlgorithm.winograd, .winograd4])
    func cachedFiltersGiveTheUncachedResults(_ algorithm: Conv2DAlgorithm) {
        let g = Conv2DGeometry(
            batch: 2,
            inChannels: 5,
            height: 9,
            width: 8,
            outChannels: 6,
            kernelHeight: 3,
            kernelWidth: 3,
            padTop: 1,
            padLeft: 1,
            padBottom: 1,
            padRight: 1
        )
        var rng = RandomGenerator(seed: 21)
        let x = (0..<g.inputCount).map { _ in rng.nextNormal() }
        let dy = (0..<g.outputCount).map { _ in rng.nextNormal() }
        let w1 = (0..<g.weightCount).map { _ in rng.nextNormal() }
        var w2 = w1
        w2[17] += 0.25
        func run(_ w: [Float]) -> [Float] {
            Kernels.conv2d(x, w, bias: nil, g, algorithm: algorithm)
                + Kernels.conv2dBackwardInput(dy, w, g, algorithm: algorithm)
        }
        func fresh(_ w: [Float]) -> [Float] {
            WinogradFilterCache.shared.removeAll()
            let y = Kernels.conv2d(x, w, bias: nil, g, algorithm: algorithm)
            WinogradFilterCache.shared.removeAll()
            return y + Kernels.conv2dBackwardInput(dy, w, g, algorithm: algorithm)
        }
        let expected1 = fresh(w1)
        let expected2 = fresh(w2)
        #expect(expected1 != expected2)
        let hits = WinogradFilterCache.shared.statistics.hits
        for w in [w1, w2, w1, w1, w2] {
            #expect(run(w) == (w == w1 ? expected1 : expected2))
        }
        #expect(WinogradFilterCache.shared.statistics.hits - hits >= 6, "w1 twice and w2 once again, two passes each")
    }
}
