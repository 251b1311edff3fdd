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

    /// The one-pass sums are taken about the mean of each channel's first plane: a first plane far
    /// from the others (here by 10⁴ standard deviations of the rest) must not cost accuracy.
    @Test func statisticsWithAnOutlyingFirstPlane() {
        let (batch, channels, spatial) = (16, 3, 49)
        var rng = RandomGenerator(seed: 23)
        let x = (0..<batch * channels * spatial).map { i in
            (i / (channels * spatial) == 0 ? -5_000 : 50) + 0.5 * rng.nextNormal()
        }
        let fast = Kernels.batchNormStatistics(x, batch: batch, channels: channels, spatial: spatial)
        let naive = NaiveKernels.batchNormStatistics(x, batch: batch, channels: channels, spatial: spatial)
        #expect(kernelRelativeError(fast.mean, naive.mean) <= 1e-6)
        #expect(kernelRelativeError(fast.variance, naive.variance) <= 1e-5)
    }

    @Test func statisticsByHand() {
        // Channel 0 holds 1, 2, 3, 4 (mean 2.5, variance 1.25); channel 1 holds 10 four times.
        let x: [Float] = [1, 2, 10, 10, 3, 4, 10, 10]
        let stats = Kernels.batchNormStatistics(x, batch: 2, channels: 2, spatial: 2)
        #expect(stats.mean == [2.5, 10])
        #expect(stats.variance == [1.25, 0])
    }
}

/// The double backward through training batch norm: the last order's fast kernel
/// (`Kernels.batchNormInputGradientBackward`, taken when the backward pass does not record) against
/// the composed reference formulas' VJP (taken when it records), for x, the scale and the offset.
@Suite("Batch norm's second-order kernel")
struct BatchNormSecondOrderTests {
    @Test(arguments: [(2, 3, 6, false), (3, 5, 13, true), (4, 2, 64, true), (1, 4, 7, false)])
    func fastSecondOrderStepEqualsTheReference(_ shape: (Int, Int, Int, Bool)) {
        let (n, c, side, relu) = shape
        var rng = RandomGenerator(seed: 31)
        let x = Tensor.normal([n, c, side, 1], using: &rng) * 2 + 0.5
        let scale = Tensor.normal([c], using: &rng) + 1
        let offset = Tensor.normal([c], using: &rng)
        let w = Tensor.normal([n, c, side, 1], using: &rng)
        let h = Tensor.normal([n, c, side, 1], using: &rng)
        func secondOrder(recording: Bool) -> [[Float]] {
            let (tx, ts, to) = (x.tracked(), scale.tracked(), offset.tracked())
            let y = batchNormTraining(tx, scale: ts, offset: to, relu: relu).output
            let dx = gradient(of: (y * y * w).sum(), wrt: [tx], createGraph: true)[0]
            return gradient(of: (dx * h).sum(), wrt: [tx, ts, to], createGraph: recording).map(\.scalars)
        }
        let fast = secondOrder(recording: false)
        let reference = secondOrder(recording: true)
        for (name, (a, b)) in zip(["x", "scale", "offset"], zip(fast, reference)) {
            #expect(Tolerance.scaledMaxError(a, b) < 2e-4, "\(name): fast \(a.prefix(4)) vs reference \(b.prefix(4))")
        }
    }
}
