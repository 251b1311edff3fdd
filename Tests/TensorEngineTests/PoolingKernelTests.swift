import TensorEngine
import TensorEngineTestSupport
import Testing

/// One pooling geometry of the test grid (ceil mode is toggled by the tests).
struct PoolCase: Sendable, CustomTestStringConvertible {
    let g: Pool2DGeometry
    var testDescription: String {
        "N\(g.batch) C\(g.channels) \(g.height)×\(g.width) k\(g.kernelHeight)×\(g.kernelWidth) "
            + "s(\(g.strideH),\(g.strideW)) d(\(g.dilationH),\(g.dilationW)) "
            + "p(\(g.padTop),\(g.padLeft),\(g.padBottom),\(g.padRight))"
    }

    init(
        _ n: Int,
        _ c: Int,
        _ h: Int,
        _ w: Int,
        kernel: (Int, Int),
        stride: (Int, Int) = (1, 1),
        dilation: (Int, Int) = (1, 1),
        pads: (Int, Int, Int, Int) = (0, 0, 0, 0)
    ) {
        g = Pool2DGeometry(
            batch: n,
            channels: c,
            height: h,
            width: w,
            kernelHeight: kernel.0,
            kernelWidth: kernel.1,
            strideH: stride.0,
            strideW: stride.1,
            dilationH: dilation.0,
            dilationW: dilation.1,
            padTop: pads.0,
            padLeft: pads.1,
            padBottom: pads.2,
            padRight: pads.3
        )
    }
}

let poolCases: [PoolCase] = [
    PoolCase(2, 3, 8, 8, kernel: (2, 2), stride: (2, 2)),
    PoolCase(1, 2, 7, 9, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1)),
    PoolCase(3, 2, 9, 6, kernel: (3, 3), pads: (1, 0, 2, 1)),
    PoolCase(2, 2, 11, 13, kernel: (2, 3), stride: (2, 3), dilation: (2, 1), pads: (1, 1, 0, 2)),
    PoolCase(1, 3, 8, 7, kernel: (3, 3), stride: (3, 3)),
    PoolCase(2, 4, 5, 6, kernel: (5, 6)),
    PoolCase(1, 2, 10, 10, kernel: (3, 2), stride: (3, 2), dilation: (2, 3), pads: (2, 1, 1, 2)),
    PoolCase(2, 1, 6, 5, kernel: (2, 2), stride: (1, 2), pads: (1, 1, 1, 1)),
    // 2×2 stride 2 (the vector path): rows of 8 outputs and a tail, odd sizes, the SmallCNN shapes.
    PoolCase(2, 3, 28, 28, kernel: (2, 2), stride: (2, 2)),
    PoolCase(1, 2, 14, 14, kernel: (2, 2), stride: (2, 2)),
    PoolCase(2, 2, 9, 37, kernel: (2, 2), stride: (2, 2)),
    PoolCase(1, 1, 5, 16, kernel: (2, 2), stride: (2, 2)),
]

@Suite("Pooling kernels")
struct PoolingKernelTests {
    /// Both ceil modes of a case, keeping those that validate.
    static func geometries(_ c: PoolCase) -> [Pool2DGeometry] {
        [false, true].compactMap { ceil in
            var g = c.g
            g.ceilMode = ceil
            return g.validate() == nil ? g : nil
        }
    }

    @Test(arguments: poolCases)
    func maxPoolEqualsNaive(_ c: PoolCase) {
        let geometries = Self.geometries(c)
        #expect(!geometries.isEmpty)
        for g in geometries {
            var rng = RandomGenerator(seed: 11)
            let x = kernelRandom(g.inputCount, &rng)
            let fast = Kernels.maxPool2d(x, g)
            let naive = NaiveKernels.maxPool2d(x, g)
            #expect(fast.values == naive.values, "ceil \(g.ceilMode)")
            #expect(fast.argmax == naive.argmax, "ceil \(g.ceilMode)")
            #expect(zip(fast.values, fast.argmax).allSatisfy { $0.0 == x[Int($0.1)] })
        }
    }

    /// Ties keep the first tap and NaN never replaces nor is replaced, as in the naive loop, on the
    /// 2×2 stride-2 vector path and its scalar tail.
    @Test func maxPoolTwoByTwoTiesAndNaN() {
        var g = PoolCase(2, 2, 6, 36, kernel: (2, 2), stride: (2, 2)).g
        for ceil in [false, true] {
            g.ceilMode = ceil
            var rng = RandomGenerator(seed: 13)
            // Few distinct values: many ties inside windows; a NaN here and there.
            var x = (0..<g.inputCount).map { _ in Float(rng.nextInt(below: 3)) }
            for i in stride(from: 5, to: x.count, by: 17) { x[i] = .nan }
            let fast = Kernels.maxPool2d(x, g)
            let naive = NaiveKernels.maxPool2d(x, g)
            #expect(fast.argmax == naive.argmax, "ceil \(ceil)")
            #expect(zip(fast.values, naive.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
            #expect(fast.values.contains { $0.isNaN })
        }
    }

    @Test(arguments: poolCases, [false, true])
    func avgPoolEqualsNaive(_ c: PoolCase, countIncludePad: Bool) {
        for g in Self.geometries(c) {
            var rng = RandomGenerator(seed: 12)
            let x = kernelRandom(g.inputCount, &rng)
            let dy = kernelRandom(g.outputCount, &rng)
            let y = Kernels.avgPool2d(x, g, countIncludePad: countIncludePad)
            #expect(kernelRelativeError(y, NaiveKernels.avgPool2d(x, g, countIncludePad: countIncludePad)) <= 1e-5)
            let dx = Kernels.avgPool2dBackward(dy, g, countIncludePad: countIncludePad)
            let dx0 = NaiveKernels.avgPool2dBackward(dy, g, countIncludePad: countIncludePad)
            #expect(kernelRelativeError(dx, dx0) <= 1e-5)
            // ⟨avgPool(x), dy⟩ = ⟨x, avgPoolᵀ(dy)⟩.
            let lhs = kernelDot(y, dy)
            let rhs = kernelDot(x, dx)
            #expect(abs(lhs.value - rhs.value) <= 1e-5 * max(lhs.scale, rhs.scale, 1))
        }
    }

    /// PyTorch/ONNX output extents, including the ceil-mode rule that drops a last window starting
    /// in the trailing padding.
    @Test func outputExtents() {
        func extent(_ h: Int, _ k: Int, _ s: Int, _ p: Int, ceil: Bool) -> Int {
            Pool2DGeometry(
                batch: 1,
                channels: 1,
                height: h,
                width: h,
                kernelHeight: k,
                kernelWidth: k,
                strideH: s,
                strideW: s,
                padTop: p,
                padLeft: p,
                padBottom: p,
                padRight: p,
                ceilMode: ceil
            ).outHeight
        }
        #expect(extent(5, 2, 2, 0, ceil: false) == 2)
        #expect(extent(5, 2, 2, 0, ceil: true) == 3)
        #expect(extent(4, 2, 2, 1, ceil: true) == 3)
        #expect(extent(3, 2, 2, 1, ceil: true) == 2)  // ceil gives 3, but window 3 starts at 3 ≥ H + pad − 1
        #expect(extent(6, 3, 2, 1, ceil: true) == 4)
        #expect(extent(6, 3, 2, 1, ceil: false) == 3)
    }

    /// A window running past the padded border (ceil mode) divides by its part inside the padded
    /// input with count_include_pad, by its part inside the input without.
    @Test func averageDivisorsByHand() {
        let g = Pool2DGeometry(
            batch: 1,
            channels: 1,
            height: 6,
            width: 1,
            kernelHeight: 3,
            kernelWidth: 1,
            strideH: 2,
            padTop: 1,
            padBottom: 1,
            ceilMode: true
        )
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        #expect(Kernels.avgPool2d(x, g, countIncludePad: true) == [1, 3, 5, 3])
        #expect(Kernels.avgPool2d(x, g, countIncludePad: false) == [1.5, 3, 5, 6])
    }

    @Test func maxPoolIgnoresPadding() {
        let g = Pool2DGeometry(
            batch: 1,
            channels: 1,
            height: 2,
            width: 2,
            kernelHeight: 2,
            kernelWidth: 2,
            padTop: 1,
            padLeft: 1,
            padBottom: 1,
            padRight: 1
        )
        let x: [Float] = [-4, -3, -2, -1]
        let result = Kernels.maxPool2d(x, g)
        #expect(result.values == [-4, -3, -3, -2, -1, -1, -2, -1, -1])
        #expect(result.argmax == [0, 1, 1, 2, 3, 3, 2, 3, 3])
    }

    @Test func validateRejectsWindowsOfPaddingOnly() {
        // Taps at −1 and 2 of a 2-row input: the only window sees padding alone.
        let g = Pool2DGeometry(
            batch: 1,
            channels: 1,
            height: 2,
            width: 2,
            kernelHeight: 2,
            kernelWidth: 1,
            dilationH: 3,
            padTop: 1,
            padBottom: 1
        )
        #expect(g.validate()?.contains("covers only padding") == true)
        var h = g
        h.kernelHeight = 9
        #expect(h.validate()?.contains("empty") == true)
    }
}
