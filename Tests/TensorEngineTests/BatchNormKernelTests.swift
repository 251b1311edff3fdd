import TensorEngine
import TensorEngineTestSupport
import Testing

struct BatchNormCase: Sendable, CustomTestStringConvertible {
    let batch: Int
    let channels: Int
    let spatial: Int
    var testDescription: String { "(N,C,HW) = (\(batch),\(channels),\(spatial))" }
}

@Suite("Batch-norm kernels")
struct BatchNormKernelTests {
    static let cases = [
        BatchNormCase(batch: 3, channels: 4, spatial: 49),
        BatchNormCase(batch: 2, channels: 5, spatial: 1),
        BatchNormCase(batch: 1, channels: 3, spatial: 2_500),
        BatchNormCase(batch: 4, channels: 2, spatial: 13),
        BatchNormCase(batch: 16, channels: 16, spatial: 784),
    ]

    /// Values with a large mean and small spread, where a one-pass Float E[x²] − E[x]² fails.
    @Test(arguments: cases)
    func statisticsEqualNaive(_ c: BatchNormCase) {
        var rng = RandomGenerator(seed: 21)
        let x = (0..<c.batch * c.channels * c.spatial).map { i in
            Float(100 + (i / c.spatial) % c.channels) + 0.5 * rng.nextNormal()
        }
        let fast = Kernels.batchNormStatistics(x, batch: c.batch, channels: c.channels, spatial: c.spatial)
        let naive = NaiveKernels.batchNormStatistics(x, batch: c.batch, channels: c.channels, spatial: c.spatial)
        #expect(kernelRelativeError(fast.mean, naive.mean) <= 1e-6)
        #expect(kernelRelativeError(fast.variance, naive.variance) <= 1e-4)
    }

    @Test(arguments: cases)
    func channelAffineEqualsNaive(_ c: BatchNormCase) {
        var rng = RandomGenerator(seed: 22)
        let x = kernelRandom(c.batch * c.channels * c.spatial, &rng)
        let scale = kernelRandom(c.channels, &rng)
        let shift = kernelRandom(c.channels, &rng)
        let fast = Kernels.channelAffine(
            x,
            batch: c.batch,
            channels: c.channels,
            spatial: c.spatial,
            scale: scale,
            shift: shift
        )
        let naive = NaiveKernels.channelAffine(
            x,
            batch: c.batch,
            channels: c.channels,
            spatial: c.spatial,
            scale: scale,
            shift: shift
        )
        #expect(kernelRelativeError(fast, naive) <= 1e-6)
    }

    @Test func statisticsByHand() {
        // Channel 0 holds 1, 2, 3, 4 (mean 2.5, variance 1.25); channel 1 holds 10 four times.
        let x: [Float] = [1, 2, 10, 10, 3, 4, 10, 10]
        let stats = Kernels.batchNormStatistics(x, batch: 2, channels: 2, spatial: 2)
        #expect(stats.mean == [2.5, 10])
        #expect(stats.variance == [1.25, 0])
    }
}
