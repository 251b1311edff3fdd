import TensorEngineTestSupport
import Testing

@testable import TensorEngine

/// max |a − b| / max |b| (or the absolute error when b is all zeros).
func kernelRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "kernelRelativeError: \(a.count) vs \(b.count) elements")
    var worst = 0.0
    var scale = 0.0
    for (x, y) in zip(a, b) {
        worst = max(worst, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(y)))
    }
    return scale == 0 ? worst : worst / scale
}

/// Σ a·b in Double, and Σ |a·b| as the scale of its rounding error.
func kernelDot(_ a: [Float], _ b: [Float]) -> (value: Double, scale: Double) {
    precondition(a.count == b.count, "kernelDot: \(a.count) vs \(b.count) elements")
    var value = 0.0
    var scale = 0.0
    for (x, y) in zip(a, b) {
        value += Double(x) * Double(y)
        scale += abs(Double(x) * Double(y))
    }
    return (value, scale)
}

extension Conv2DGeometry {
    /// A seed for a geometry's test data that is the same in every run (FNV-1a over its fields):
    /// `hashValue`, used before, is seeded per process, so each run drew other data.
    var testSeed: UInt64 {
        let fields = [
            batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth, strideH, strideW, dilationH,
            dilationW, padTop, padLeft, padBottom, padRight, groups,
        ]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for field in fields {
            hash ^= UInt64(truncatingIfNeeded: field)
            hash = hash &* 0x100_0000_01b3
        }
        return hash & 0xFFFF
    }
}

func kernelRandom(_ count: Int, _ rng: inout RandomGenerator) -> [Float] {
    (0..<count).map { _ in rng.nextNormal() }
}

/// One convolution geometry of the test grid.
struct ConvCase: Sendable, CustomTestStringConvertible {
    let g: Conv2DGeometry
    var testDescription: String {
        "N\(g.batch) C\(g.inChannels)→K\(g.outChannels) \(g.height)×\(g.width) k\(g.kernelHeight)×\(g.kernelWidth) "
            + "s(\(g.strideH),\(g.strideW)) d(\(g.dilationH),\(g.dilationW)) "
            + "p(\(g.padTop),\(g.padLeft),\(g.padBottom),\(g.padRight)) G\(g.groups)"
    }

    init(
        _ n: Int,
        _ c: Int,
        _ k: Int,
        _ h: Int,
        _ w: Int,
        kernel: (Int, Int),
        stride: (Int, Int) = (1, 1),
        dilation: (Int, Int) = (1, 1),
        pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
        groups: Int = 1
    ) {
        g = Conv2DGeometry(
            batch: n,
            inChannels: c,
            height: h,
            width: w,
            outChannels: k,
            kernelHeight: kernel.0,
            kernelWidth: kernel.1,
            strideH: stride.0,
            strideW: stride.1,
            dilationH: dilation.0,
            dilationW: dilation.1,
            padTop: pads.0,
            padLeft: pads.1,
            padBottom: pads.2,
            padRight: pads.3,
            groups: groups
        )
    }
}

let convCases: [ConvCase] = [
    ConvCase(1, 1, 1, 5, 5, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ConvCase(2, 3, 8, 7, 9, kernel: (3, 3), pads: (1, 0, 2, 1)),
    ConvCase(3, 4, 6, 9, 7, kernel: (2, 3), stride: (2, 2), pads: (0, 1, 1, 0)),
    ConvCase(2, 6, 4, 11, 10, kernel: (3, 3), stride: (3, 3), dilation: (2, 2), pads: (2, 1, 0, 2)),
    ConvCase(2, 4, 8, 8, 8, kernel: (1, 1), groups: 2),
    ConvCase(1, 8, 8, 10, 9, kernel: (3, 3), dilation: (2, 2), pads: (2, 2, 2, 2), groups: 2),
    ConvCase(2, 6, 6, 9, 9, kernel: (3, 3), pads: (1, 1, 1, 1), groups: 6),
    ConvCase(2, 4, 8, 7, 8, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1), groups: 4),
    ConvCase(3, 5, 7, 6, 13, kernel: (1, 1), stride: (2, 2)),
    ConvCase(2, 3, 5, 5, 5, kernel: (1, 1), pads: (1, 0, 0, 1)),
    ConvCase(1, 16, 16, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ConvCase(2, 16, 32, 14, 14, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
    ConvCase(2, 2, 12, 12, 12, kernel: (3, 3), dilation: (2, 2), pads: (1, 2, 0, 1)),
    ConvCase(1, 4, 4, 6, 6, kernel: (2, 3), pads: (2, 0, 1, 3)),
    ConvCase(3, 8, 20, 15, 17, kernel: (3, 3), pads: (1, 1, 1, 1), groups: 4),
    ConvCase(1, 3, 3, 7, 5, kernel: (3, 2), stride: (1, 2), dilation: (1, 2), pads: (0, 1, 1, 0)),
    ConvCase(2, 4, 4, 13, 11, kernel: (3, 3), stride: (2, 3), dilation: (2, 1), pads: (1, 0, 2, 1)),
    ConvCase(2, 3, 4, 2, 3, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ConvCase(10, 16, 8, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ConvCase(2, 5, 9, 11, 12, kernel: (1, 1)),
    ConvCase(5, 2, 4, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ConvCase(7, 3, 8, 5, 6, kernel: (3, 3), dilation: (1, 2), pads: (3, 0, 1, 2)),
    // Groups over several chunks of images: the direct filter gradient's two parts of the batch
    // (three chunks and two, the last part-filled).
    ConvCase(19, 4, 4, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1), groups: 2),
    // With AVX-512, F(4×4) with channels in the lanes whose tiles overshoot the output (8×8 for 7×7).
    ConvCase(3, 32, 16, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
]

/// Random inputs of one convolution geometry (seeded by the geometry and `salt`) and the naive loop
/// nest's answers: the oracle of the kernel tests.
struct ConvOracle {
    let x: [Float]
    let w: [Float]
    let bias: [Float]
    let dy: [Float]
    let y0: [Float]
    let dx0: [Float]
    let dw0: [Float]

    init(_ g: Conv2DGeometry, salt: UInt64) {
        var rng = RandomGenerator(seed: g.testSeed + salt)
        x = kernelRandom(g.inputCount, &rng)
        w = kernelRandom(g.weightCount, &rng)
        bias = kernelRandom(g.outChannels, &rng)
        dy = kernelRandom(g.outputCount, &rng)
        y0 = NaiveKernels.conv2d(x, w, bias: bias, g)
        dx0 = NaiveKernels.conv2dBackwardInput(dy, w, g)
        dw0 = NaiveKernels.conv2dBackwardFilter(x, dy, g)
    }
}

let convAlgorithms: [Conv2DAlgorithm] = [.automatic, .im2col, .direct, .pointwise, .winograd, .winograd4]

@Suite("Convolution kernels")
struct ConvolutionKernelTests {
    /// Every algorithm of conv2d and its two adjoints equals the naive loop nest.
    @Test(arguments: convCases)
    func fastEqualsNaive(_ c: ConvCase) {
        let g = c.g
        #expect(g.validate() == nil)
        let o = ConvOracle(g, salt: 0)
        let (x, w, bias, dy, y0, dx0, dw0) = (o.x, o.w, o.bias, o.dy, o.y0, o.dx0, o.dw0)
        let yNoBias0 = NaiveKernels.conv2d(x, w, bias: nil, g)
        for algorithm in convAlgorithms {
            // F(4×4)'s rounding: see winogradKernelsEqualNaive.
            let f4 = algorithm == .winograd4 || (algorithm == .automatic && g.winogradChoice == .winograd4)
            let tolerance = f4 ? 2e-5 : 1e-5
            let y = Kernels.conv2d(x, w, bias: bias, g, algorithm: algorithm)
            #expect(kernelRelativeError(y, y0) <= tolerance, "conv2d \(algorithm)")
            let yNoBias = Kernels.conv2d(x, w, bias: nil, g, algorithm: algorithm)
            #expect(kernelRelativeError(yNoBias, yNoBias0) <= tolerance, "conv2d without bias \(algorithm)")
            let dx = Kernels.conv2dBackwardInput(dy, w, g, algorithm: algorithm)
            #expect(kernelRelativeError(dx, dx0) <= tolerance, "conv2dBackwardInput \(algorithm)")
            let dw = Kernels.conv2dBackwardFilter(x, dy, g, algorithm: algorithm)
            #expect(kernelRelativeError(dw, dw0) <= 1e-5, "conv2dBackwardFilter \(algorithm)")
        }
    }

    /// The direct kernels' AVX2 and AVX-512 register blocks (forward, input and filter gradients) equal the naive loop nest (the
    /// AVX-512 ones where the CPU has them: on other machines this checks AVX2 twice).
    @Test(arguments: convCases.filter { $0.g.strideH == 1 && $0.g.strideW == 1 })
    func directKernelsOfEveryVectorWidthEqualNaive(_ c: ConvCase) {
        let g = c.g
        let o = ConvOracle(g, salt: 1)
        let (x, w, bias, dy, y0, dx0, dw0) = (o.x, o.w, o.bias, o.dy, o.y0, o.dx0, o.dw0)
        for simd in SIMDLevel.allCases {
            let y = Kernels.conv2d(x, w, bias: bias, g, algorithm: .direct, simd: simd)
            #expect(kernelRelativeError(y, y0) <= 1e-5, "conv2d direct \(simd)")
            let dx = Kernels.conv2dBackwardInput(dy, w, g, algorithm: .direct, simd: simd)
            #expect(kernelRelativeError(dx, dx0) <= 1e-5, "conv2dBackwardInput direct \(simd)")
            let dw = Kernels.conv2dBackwardFilter(x, dy, g, algorithm: .direct, simd: simd)
            #expect(kernelRelativeError(dw, dw0) <= 1e-5, "conv2dBackwardFilter direct \(simd)")
        }
    }

    /// 3×3 stride-1 and stride-2 geometries of the AVX-512 filter gradient with output channels in the
    /// lanes: 16, 32, 48 and 64 output channels, an odd number of input channels (a lone last channel),
    /// paddings from 0 to 2 on each side, odd and even sizes, rows of 4 to 30 positions (whole 16×16
    /// transposes and their tails), one chunk and several chunks in two parts (37 images of 7×7 at 32
    /// channels: chunks of 32; 20 images of 10×10 outputs at 48 channels: chunks of 10).
    static let laneFilterCases: [ConvCase] = [
        ConvCase(3, 16, 16, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(37, 9, 32, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(6, 8, 48, 5, 9, kernel: (3, 3), pads: (0, 2, 1, 0)),
        ConvCase(2, 17, 16, 4, 26, kernel: (3, 3), pads: (2, 2, 2, 2)),
        ConvCase(9, 64, 64, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(5, 16, 32, 28, 28, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(7, 9, 16, 9, 12, kernel: (3, 3), stride: (2, 2), pads: (0, 1, 2, 0)),
        ConvCase(20, 8, 48, 20, 20, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(3, 32, 64, 14, 14, kernel: (3, 3), stride: (2, 2), pads: (2, 2, 2, 2)),
    ]

    /// The direct filter gradient of both vector widths (with AVX-512: output channels in the lanes)
    /// equals the naive loop nest, and the automatic choice (which takes it over Winograd's adjoint
    /// with AVX-512) too. On a CPU without AVX-512 this checks the AVX2 kernel twice.
    @Test(arguments: laneFilterCases)
    func laneFilterGradientEqualsNaive(_ c: ConvCase) {
        let g = c.g
        #expect(g.validate() == nil)
        #expect(g.laneFilterGradientApplies)
        #expect(Kernels.resolvedBackwardFilter(.direct, g, simd: .avx512) == .direct)
        let o = ConvOracle(g, salt: 7)
        for simd in SIMDLevel.allCases {
            for algorithm in [Conv2DAlgorithm.direct, .automatic] {
                let dw = Kernels.conv2dBackwardFilter(o.x, o.dy, g, algorithm: algorithm, simd: simd)
                #expect(kernelRelativeError(dw, o.dw0) <= 1e-5, "conv2dBackwardFilter \(algorithm) \(simd)")
            }
        }
    }

    /// 3×3 stride-1 geometries for Winograd F(2×2, 3×3): every padding from 0 to 2 on each side (the
    /// input gradient's adjoint pads 2 − pad), odd and even output sizes (a half tile at the bottom or
    /// right), rows of more than 8 tiles (two vectors), one input channel, output channels that are
    /// not a multiple of 4, and batches that leave the last block of tile rows part-filled.
    static let winogradCases: [ConvCase] = [
        ConvCase(1, 1, 1, 4, 4, kernel: (3, 3)),
        ConvCase(2, 3, 5, 5, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(3, 4, 6, 9, 8, kernel: (3, 3), pads: (2, 0, 1, 2)),
        ConvCase(2, 7, 9, 6, 19, kernel: (3, 3), pads: (0, 2, 2, 1)),
        ConvCase(5, 16, 16, 28, 28, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(3, 32, 32, 14, 14, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(2, 64, 60, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(1, 2, 3, 40, 35, kernel: (3, 3), pads: (2, 2, 2, 2)),
        ConvCase(11, 1, 16, 3, 3, kernel: (3, 3), pads: (1, 0, 0, 1)),
        // With AVX-512, F(4×4) with channels in the lanes (16, 32 or 64 on both sides): unequal
        // channel counts, odd sizes with asymmetric padding, one image per block and several.
        ConvCase(3, 16, 64, 9, 11, kernel: (3, 3), pads: (2, 0, 1, 2)),
        ConvCase(7, 64, 32, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(9, 32, 16, 5, 20, kernel: (3, 3), pads: (1, 2, 0, 1)),
        ConvCase(13, 64, 64, 7, 7, kernel: (3, 3), pads: (1, 1, 1, 1)),
    ]

    /// Winograd F(2×2, 3×3) and F(4×4, 3×3) forward and input gradient, and the filter gradient by
    /// F(2×2, 3×3)'s adjoint (which both variants run), of both vector widths equal the naive loop nest.
    @Test(arguments: winogradCases, [Conv2DAlgorithm.winograd, .winograd4])
    func winogradKernelsEqualNaive(_ c: ConvCase, _ algorithm: Conv2DAlgorithm) {
        let g = c.g
        #expect(g.validate() == nil)
        let o = ConvOracle(g, salt: 5)
        // F(4×4)'s rounding reaches 1e-5 of the largest output at 64 channels (7.4e-6 the largest of 40
        // random draws of 64→64 @7, 1.01e-5 seen once at 64→32 @7; the tile-lane and channel-lane
        // kernels give the same bits), F(2×2)'s stays under 1e-6.
        let tolerance = algorithm == .winograd4 ? 2e-5 : 1e-5
        for simd in SIMDLevel.allCases {
            let y = Kernels.conv2d(o.x, o.w, bias: o.bias, g, algorithm: algorithm, simd: simd)
            #expect(kernelRelativeError(y, o.y0) <= tolerance, "conv2d \(algorithm) \(simd)")
            let dx = Kernels.conv2dBackwardInput(o.dy, o.w, g, algorithm: algorithm, simd: simd)
            #expect(kernelRelativeError(dx, o.dx0) <= tolerance, "conv2dBackwardInput \(algorithm) \(simd)")
            let dw = Kernels.conv2dBackwardFilter(o.x, o.dy, g, algorithm: algorithm, simd: simd)
            #expect(kernelRelativeError(dw, o.dw0) <= 1e-5, "conv2dBackwardFilter \(algorithm) \(simd)")
        }
    }

    /// Stride-2 geometries the direct kernels run on polyphase planes (and some they leave to im2col:
    /// a 1-wide kernel, dilation, too little bottom padding): kernels 2×2 to 5×3, every padding from 0
    /// to 3 on each side, odd and even sizes, groups, batches that leave a chunk part-filled. The
    /// forward, input-gradient (one stride-1 adjoint per plane) and filter-gradient results of both
    /// vector widths equal the naive loop nest.
    static let stride2Cases: [ConvCase] = [
        ConvCase(2, 16, 32, 14, 14, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(5, 3, 8, 28, 28, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(3, 4, 5, 7, 9, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(2, 3, 4, 9, 8, kernel: (3, 3), stride: (2, 2)),
        ConvCase(2, 2, 6, 8, 11, kernel: (2, 2), stride: (2, 2), pads: (0, 1, 1, 0)),
        ConvCase(2, 3, 4, 10, 9, kernel: (4, 4), stride: (2, 2), pads: (3, 2, 1, 2)),
        ConvCase(1, 2, 7, 11, 12, kernel: (5, 3), stride: (2, 2), pads: (2, 0, 3, 1)),
        ConvCase(2, 8, 8, 9, 9, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1), groups: 2),
        ConvCase(3, 4, 8, 6, 7, kernel: (3, 2), stride: (2, 2), pads: (2, 1, 0, 0)),
        ConvCase(2, 3, 4, 9, 9, kernel: (3, 3), stride: (2, 2), dilation: (2, 2), pads: (2, 2, 2, 2)),
        ConvCase(2, 3, 4, 9, 9, kernel: (1, 3), stride: (2, 2), pads: (0, 1, 0, 1)),
        ConvCase(40, 2, 4, 5, 5, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
        ConvCase(2, 3, 4, 11, 11, kernel: (2, 2), stride: (2, 2)),
        ConvCase(3, 16, 32, 14, 14, kernel: (1, 1), stride: (2, 2)),
        ConvCase(2, 5, 6, 9, 8, kernel: (1, 1), stride: (2, 2), pads: (1, 0, 1, 1)),
    ]

    @Test(arguments: stride2Cases)
    func stride2DirectKernelsEqualNaive(_ c: ConvCase) {
        let g = c.g
        #expect(g.validate() == nil)
        let o = ConvOracle(g, salt: 3)
        let (x, w, bias, dy, y0, dx0, dw0) = (o.x, o.w, o.bias, o.dy, o.y0, o.dx0, o.dw0)
        for simd in SIMDLevel.allCases {
            for algorithm in [Conv2DAlgorithm.direct, .automatic] {
                let y = Kernels.conv2d(x, w, bias: bias, g, algorithm: algorithm, simd: simd)
                #expect(kernelRelativeError(y, y0) <= 1e-5, "conv2d \(algorithm) \(simd)")
                let dx = Kernels.conv2dBackwardInput(dy, w, g, algorithm: algorithm, simd: simd)
                #expect(kernelRelativeError(dx, dx0) <= 1e-5, "conv2dBackwardInput \(algorithm) \(simd)")
                let dw = Kernels.conv2dBackwardFilter(x, dy, g, algorithm: algorithm, simd: simd)
                #expect(kernelRelativeError(dw, dw0) <= 1e-5, "conv2dBackwardFilter \(algorithm) \(simd)")
            }
        }
    }

    /// ⟨conv2d(x,w), dy⟩ = ⟨x, conv2dBackwardInput(dy,w)⟩ = ⟨w, conv2dBackwardFilter(x,dy)⟩.
    @Test(arguments: convCases)
    func backwardKernelsAreAdjoints(_ c: ConvCase) {
        let g = c.g
        var rng = RandomGenerator(seed: g.testSeed + 7)
        let x = kernelRandom(g.inputCount, &rng)
        let w = kernelRandom(g.weightCount, &rng)
        let dy = kernelRandom(g.outputCount, &rng)
        let forward = kernelDot(Kernels.conv2d(x, w, bias: nil, g), dy)
        let input = kernelDot(x, Kernels.conv2dBackwardInput(dy, w, g))
        let filter = kernelDot(w, Kernels.conv2dBackwardFilter(x, dy, g))
        let tolerance = 1e-5 * max(forward.scale, input.scale, filter.scale, 1)
        #expect(abs(forward.value - input.value) <= tolerance)
        #expect(abs(forward.value - filter.value) <= tolerance)
    }

    @Test func geometryArithmetic() {
        let g = Conv2DGeometry(
            batch: 2,
            inChannels: 4,
            height: 11,
            width: 10,
            outChannels: 6,
            kernelHeight: 3,
            kernelWidth: 2,
            strideH: 2,
            strideW: 3,
            dilationH: 2,
            dilationW: 1,
            padTop: 1,
            padLeft: 0,
            padBottom: 2,
            padRight: 1,
            groups: 2
        )
        #expect(g.outHeight == (11 + 3 - 2 * 2 - 1) / 2 + 1)
        #expect(g.outWidth == (10 + 1 - 1 - 1) / 3 + 1)
        #expect(g.inputCount == 2 * 4 * 11 * 10)
        #expect(g.weightCount == 6 * 2 * 3 * 2)
        #expect(g.outputCount == 2 * 6 * g.outHeight * g.outWidth)
        #expect(g.validate() == nil)
    }

    @Test func validateNamesTheProblem() {
        let good = ConvCase(1, 4, 4, 5, 5, kernel: (3, 3)).g
        var g = good
        g.groups = 3
        #expect(g.validate()?.contains("groups 3") == true)
        g = good
        g.kernelHeight = 6
        #expect(g.validate()?.contains("empty") == true)
        g = good
        g.padLeft = -1
        #expect(g.validate()?.contains("padLeft") == true)
        g = good
        g.strideW = 0
        #expect(g.validate()?.contains("strideW") == true)
    }
}
