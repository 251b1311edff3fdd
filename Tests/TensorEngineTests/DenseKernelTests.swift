import Foundation
import TensorEngine
import TensorEngineTestSupport
import Testing

private func random(_ n: Int, seed: UInt64) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in rng.nextNormal() }
}

@Suite("Dense kernels equal their naive twins")
struct DenseKernelTests {
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 130, 70), (128, 16, 144)])
    func gemm(_ mnk: (Int, Int, Int)) {
        let (M, N, K) = mnk
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = random(M * K, seed: 1)
            let b = random(K * N, seed: 2)
            let c = random(M * N, seed: 3)
            let fast = Kernels.gemm(a, b, M: M, N: N, K: K, transposeA: ta, transposeB: tb, alpha: 0.5, beta: 2, c: c)
            let naive = NaiveKernels.gemm(
                a,
                b,
                M: M,
                N: N,
                K: K,
                transposeA: ta,
                transposeB: tb,
                alpha: 0.5,
                beta: 2,
                c: c
            )
            #expect(Tolerance.scaledMaxError(fast, naive) < 1e-5, "M=\(M) N=\(N) K=\(K) tA=\(ta) tB=\(tb)")
        }
    }

    @Test(arguments: [
        ([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([2, 3, 4], [3, 1]), ([1, 3, 1], [2, 1, 5]),
        ([4, 1, 6, 6], [1, 5, 1, 1]), ([], [2, 2]), ([70000], [1]), ([2, 1, 300, 200], [1, 3, 1, 200]),
    ])
    func broadcastBinary(_ shapes: ([Int], [Int])) {
        let (sa, sb) = shapes
        let a = random(sa.reduce(1, *), seed: 4)
        let b = random(sb.reduce(1, *), seed: 5)
        guard let outShape = Kernels.broadcastShape(sa, sb) else {
            Issue.record("shapes \(sa) and \(sb) should broadcast")
            return
        }
        let fast = Kernels.broadcastBinary(a, sa, b, sb) { $0 * 2 - $1 }
        #expect(fast.shape == outShape)
        #expect(fast.scalars == NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape) { $0 * 2 - $1 })
        #expect(
            Kernels.broadcast(b, sb, to: outShape)
                == NaiveKernels.broadcastBinary(b, sb, [0], [], outShape: outShape) { x, _ in x }
        )
    }

    /// The arithmetic operation types (eight-lane loops) against the naive twin, bit for bit, over
    /// equal shapes with tails past the last full vector, scalar operands on either side and real
    /// broadcasts; the operands include zeros, infinities and NaN.
    @Test(arguments: [
        ([13], [13]), ([2, 3, 4], [2, 3, 4]), ([70001], [70001]), ([37], [1]), ([1], [37]), ([], [70001]),
        ([2, 3, 4], [3, 1]), ([4, 1, 6, 6], [1, 5, 1, 1]),
    ])
    func arithmeticOperationTypes(_ shapes: ([Int], [Int])) throws {
        let (sa, sb) = shapes
        var a = random(sa.reduce(1, *), seed: 6)
        var b = random(sb.reduce(1, *), seed: 7)
        let specials: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNormalMagnitude / 1024]  // a subnormal
        for (i, v) in specials.enumerated() {
            if i < a.count { a[a.count - 1 - i] = v }
            if i < b.count { b[(i * 7) % b.count] = specials[(i + 2) % specials.count] }
        }
        let outShape = try #require(Kernels.broadcastShape(sa, sb))
        func same(_ x: [Float], _ y: [Float]) -> Bool {
            x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        }
        #expect(
            same(
                Kernels.broadcastBinary(a, sa, b, sb, ElementwiseAdd()).scalars,
                NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape, +)
            )
        )
        #expect(
            same(
                Kernels.broadcastBinary(a, sa, b, sb, ElementwiseSubtract()).scalars,
                NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape, -)
            )
        )
        #expect(
            same(
                Kernels.broadcastBinary(a, sa, b, sb, ElementwiseMultiply()).scalars,
                NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape, *)
            )
        )
        #expect(
            same(
                Kernels.broadcastBinary(a, sa, b, sb, ElementwiseDivide()).scalars,
                NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape, /)
            )
        )
        #expect(
            same(
                Kernels.broadcastBinary(a, sa, b, sb, ElementwiseFunction { powf($0, $1) }).scalars,
                NaiveKernels.broadcastBinary(a, sa, b, sb, outShape: outShape) { powf($0, $1) }
            )
        )
    }

    /// Negation flips the sign bit of every element, the vector lanes and the tail alike.
    @Test(arguments: [0, 5, 8, 13, 70001])
    func negationFlipsTheSignBit(_ n: Int) {
        var x = random(n, seed: 8)
        let subnormal = Float.leastNormalMagnitude / 1024
        for (i, v) in [Float(0), -0, .infinity, -.infinity, .nan, subnormal].enumerated() where i < n { x[i] = v }
        let negated = Kernels.negate(x)
        #expect(negated.map(\.bitPattern) == x.map { $0.bitPattern ^ 0x8000_0000 })
    }

    @Test func incompatibleShapesDoNotBroadcast() {
        #expect(Kernels.broadcastShape([2, 3], [4, 3]) == nil)
        #expect(Kernels.broadcastShape([3], [2, 1]) == [2, 3])
    }

    @Test(arguments: [
        ([2, 3, 4], [0]), ([2, 3, 4], [1]), ([2, 3, 4], [2]), ([2, 3, 4], [0, 2]), ([5, 300, 70], [1, 2]),
        ([128, 16, 28, 28], [0, 2, 3]),
    ])
    func sum(_ c: ([Int], [Int])) {
        let x = random(c.0.reduce(1, *), seed: 6)
        #expect(Tolerance.scaledMaxError(Kernels.sum(x, c.0, axes: c.1), NaiveKernels.sum(x, c.0, axes: c.1)) < 1e-5)
    }

    @Test(arguments: [
        ([2, 3, 4], [2, 0, 1]), ([2, 3, 4], [0, 2, 1]), ([3, 1, 5, 2], [3, 2, 1, 0]), ([300, 200], [1, 0]),
    ])
    func permute(_ c: ([Int], [Int])) {
        let x = random(c.0.reduce(1, *), seed: 7)
        #expect(Kernels.permute(x, c.0, c.1) == NaiveKernels.permute(x, c.0, c.1))
    }

    @Test func sliceWithNegativeSteps() {
        let shape = [5, 6, 3]
        let x = random(90, seed: 8)
        for (starts, ends, steps) in [
            ([0, 0, 0], [5, 6, 3], [1, 1, 1]), ([4, 1, 2], [-1, 6, 0], [-2, 2, -1]),
            ([1, 5, 0], [4, -1, 3], [1, -3, 2]),
        ] {
            #expect(
                Kernels.slice(x, shape, starts: starts, ends: ends, steps: steps)
                    == NaiveKernels.slice(x, shape, starts: starts, ends: ends, steps: steps)
            )
        }
    }

    @Test(arguments: [([4, 10], 1), ([4, 10], 0), ([2, 3, 5], 1)])
    func softmax(_ c: ([Int], Int)) {
        let x = random(c.0.reduce(1, *), seed: 9).map { $0 * 5 }
        for log in [false, true] {
            let fast = Kernels.softmax(x, c.0, axis: c.1, log: log)
            #expect(Tolerance.allClose(fast, NaiveKernels.softmax(x, c.0, axis: c.1, log: log), rtol: 1e-5, atol: 1e-6))
        }
    }

    @Test func maxAxisReportsFirstMaximumAndNaN() {
        let x: [Float] = [1, 3, 3, 2, .nan, 5]
        let (values, argmax) = Kernels.maxAxis(x, [2, 3], axis: 1)
        #expect(values[0] == 3 && argmax == [1, 4])
        #expect(values[1].isNaN)
    }

    @Test func gatherAndScatterAreAdjoint() {
        let x = random(20, seed: 10)
        let g = random(7, seed: 11)
        let indices: [Int32] = [3, 0, 3, 19, 7, 7, 7]
        let gathered = Kernels.gatherFlat(x, indices)
        let scattered = Kernels.scatterAddFlat(g, indices, count: 20)
        let lhs = zip(gathered, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x, scattered).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(Swift.abs(lhs - rhs) < 1e-5)
    }

    @Test func randomStreamsAreReproducible() {
        var a = RandomGenerator(seed: 42)
        var b = RandomGenerator(seed: 42)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        var c = RandomGenerator(seed: 43)
        #expect(first != (0..<5).map { _ in c.next() })
        // Moments of 100k normals: mean ≈ 0, variance ≈ 1.
        let n = Tensor.normal([100_000], using: &a)
        let mean = n.scalars.reduce(0.0) { $0 + Double($1) } / 100_000
        let variance = n.scalars.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / 100_000
        #expect(Swift.abs(mean) < 0.01 && Swift.abs(variance - 1) < 0.02)
        let u = Tensor.uniform([100_000], using: &a)
        #expect(u.scalars.allSatisfy { $0 >= 0 && $0 < 1 })
    }
}

@Suite("Batch-norm backward kernel equals its naive twin")
struct BatchNormBackwardKernelTests {
    @Test(arguments: [(2, 3, 5), (4, 16, 49), (3, 2, 1), (128, 4, 9)])
    func matchesNaive(_ dims: (Int, Int, Int)) {
        let (N, C, S) = dims
        var rng = RandomGenerator(seed: 12)
        let x = (0..<(N * C * S)).map { _ in rng.nextNormal() * 2 + 0.5 }
        let g = (0..<(N * C * S)).map { _ in rng.nextNormal() }
        let stats = Kernels.batchNormStatistics(x, batch: N, channels: C, spatial: S)
        let invStd = stats.variance.map { 1 / ($0 + 1e-5).squareRoot() }
        let scale = (0..<C).map { _ in rng.nextNormal() }
        let fast = Kernels.batchNormBackward(
            g,
            x,
            batch: N,
            channels: C,
            spatial: S,
            mean: stats.mean,
            invStd: invStd,
            scale: scale
        )
        let naive = NaiveKernels.batchNormBackward(
            g,
            x,
            batch: N,
            channels: C,
            spatial: S,
            mean: stats.mean,
            invStd: invStd,
            scale: scale
        )
        #expect(Tolerance.scaledMaxError(fast.dx, naive.dx) < 1e-4)
        #expect(Tolerance.scaledMaxError(fast.sumG, naive.sumG) < 1e-4)
        #expect(Tolerance.scaledMaxError(fast.sumGXhat, naive.sumGXhat) < 1e-4)
    }

    /// The relu mask applied inside the passes gives the bits of a separate `reluGradient` pass
    /// first, with and without the masked copy kept (S = 13 and 9 leave scalar tails).
    @Test(arguments: [(2, 3, 13), (4, 16, 49), (3, 2, 9)])
    func reluMaskInsideThePassesEqualsASeparatePass(_ dims: (Int, Int, Int)) {
        let (N, C, S) = dims
        var rng = RandomGenerator(seed: 13)
        let x = (0..<(N * C * S)).map { _ in rng.nextNormal() * 2 + 0.5 }
        let g = (0..<(N * C * S)).map { _ in rng.nextNormal() }
        // A relu output: zero at about half the positions.
        let y = (0..<(N * C * S)).map { _ in max(0, rng.nextNormal()) }
        let bn = BatchNormBackwardCase(x: x, statisticsOf: x, dims: dims, random: &rng)
        let masked = Kernels.reluGradient(g, y)
        #expect(masked.contains(0) && masked != g)
        let separate = bn.backward(masked)
        #expect(separate.masked == nil)
        for keep in [false, true] {
            let fused = bn.backward(g, output: y, keep: keep)
            #expect(fused.dx == separate.dx)
            #expect(fused.sumG == separate.sumG)
            #expect(fused.sumGXhat == separate.sumGXhat)
            #expect(fused.masked == (keep ? masked : nil))
        }
    }

    /// The mask recomputed from x (`reluAffine`, a relu after batch norm without a residual) gives
    /// the bits of the relu output's mask, and of a separate `reluGradient` pass: with entries whose
    /// affine value is exactly 0, −0 or NaN, and scalar tails (S = 13 and 9).
    @Test(arguments: [(2, 3, 13), (4, 16, 49), (3, 2, 9)])
    func reluMaskFromTheAffineInputEqualsTheOutputsMask(_ dims: (Int, Int, Int)) {
        let (N, C, S) = dims
        var rng = RandomGenerator(seed: 29)
        let a = (0..<C).map { c in c == 0 ? 0 : rng.nextNormal() }
        let b = (0..<C).map { c in c == 0 ? -0.0 : rng.nextNormal() * 0.5 }
        var x = (0..<(N * C * S)).map { _ in rng.nextNormal() }
        // Exact zeros of x·a + b where b/a is exact, and NaN inputs.
        for i in stride(from: 5, to: x.count, by: 17) where (i / S) % C != 0 {
            let c = (i / S) % C
            x[i] = -b[c] / a[c]
        }
        // NaN inputs in the last channel only (its sums are NaN in every variant).
        for i in stride(from: 11, to: x.count, by: 23) where (i / S) % C == C - 1 { x[i] = .nan }
        let g = (0..<(N * C * S)).map { _ in rng.nextNormal() }
        let y = Kernels.channelAffine(x, batch: N, channels: C, spatial: S, scale: a, shift: b, relu: true)
        // Statistics of the finite values, so that only the NaN channel's results are NaN.
        let finite = x.map { $0.isNaN ? 0 : $0 }
        let bn = BatchNormBackwardCase(x: x, statisticsOf: finite, dims: dims, random: &rng)
        let masked = Kernels.reluGradient(g, y)
        #expect(masked.contains(0) && masked != g)
        let separate = bn.backward(masked)
        func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }
        for keep in [false, true] {
            let byOutput = bn.backward(g, output: y, keep: keep)
            let byAffine = bn.backward(g, affine: (a, b), keep: keep)
            for fused in [byOutput, byAffine] {
                #expect(bits(fused.dx) == bits(separate.dx), "keep \(keep)")
                #expect(bits(fused.sumG) == bits(separate.sumG))
                #expect(bits(fused.sumGXhat) == bits(separate.sumGXhat))
                #expect(fused.masked.map(bits) == (keep ? bits(masked) : nil))
            }
        }
    }
}

@Suite("Dedicated activation kernels equal the generic loops")
struct ActivationKernelTests {
    @Test(arguments: [0, 1, 7, 8, 13, 100_003])
    func matchGeneric(_ n: Int) {
        var rng = RandomGenerator(seed: 13)
        let a = (0..<n).map { _ in rng.nextNormal() }
        let b = (0..<n).map { _ in rng.nextNormal() }
        #expect(Kernels.relu(a) == a.map { Swift.max($0, 0) })
        #expect(Kernels.reluGradient(b, a) == zip(b, a).map { $1 > 0 ? $0 : 0 })
        // NaN in x: zero gradient, in the vector loop as in the scalar tail.
        let withNaN = a.enumerated().map { $0.offset % 3 == 1 ? Float.nan : $0.element }
        #expect(Kernels.reluGradient(b, withNaN) == zip(b, withNaN).map { $1 > 0 ? $0 : 0 })
        #expect(Kernels.add(a, b) == zip(a, b).map { $0 + $1 })
    }
}

@Suite("Layout kernels equal their naive twins")
struct LayoutKernelTests {
    @Test func padMatchesNaive() {
        let shape = [2, 3, 4]
        let x = (0..<24).map { Float($0) }
        for (before, after, value) in [([0, 1, 2], [1, 0, 3], Float(0)), ([1, 1, 1], [0, 2, 0], -1.5)] {
            #expect(
                Kernels.pad(x, shape, before: before, after: after, value: value)
                    == NaiveKernels.pad(x, shape, before: before, after: after, value: value)
            )
        }
    }

    @Test func concatMatchesNaive() {
        let shapes = [[2, 1, 3], [2, 4, 3], [2, 2, 3]]
        let parts = shapes.enumerated().map { k, s in (0..<s.reduce(1, *)).map { Float(k * 100 + $0) } }
        #expect(Kernels.concat(parts, shapes: shapes, axis: 1) == NaiveKernels.concat(parts, shapes: shapes, axis: 1))
        let last = [[2, 3, 1], [2, 3, 2]]
        let lastParts = last.enumerated().map { k, s in (0..<s.reduce(1, *)).map { Float(k * 100 + $0) } }
        #expect(
            Kernels.concat(lastParts, shapes: last, axis: 2) == NaiveKernels.concat(lastParts, shapes: last, axis: 2)
        )
    }

    @Test func sliceScatterIsTheAdjointOfSlice() {
        let shape = [5, 6]
        var rng = RandomGenerator(seed: 14)
        let x = (0..<30).map { _ in rng.nextNormal() }
        let (starts, ends, steps) = ([4, 1], [-1, 6], [-2, 2])
        let y = Kernels.slice(x, shape, starts: starts, ends: ends, steps: steps)
        let g = (0..<y.count).map { _ in rng.nextNormal() }
        let back = Kernels.sliceScatter(g, into: shape, starts: starts, ends: ends, steps: steps)
        let lhs = zip(y, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(Swift.abs(lhs - rhs) < 1e-5)
    }
}

/// One input, its statistics and a scale for `Kernels.batchNormBackward`: the call the relu-mask
/// tests make with each way of giving the mask.
private struct BatchNormBackwardCase {
    let x: [Float]
    let dims: (Int, Int, Int)
    let mean: [Float]
    let invStd: [Float]
    let scale: [Float]

    /// Mean and 1/σ from `values` (x, or x without its NaN entries), a random scale per channel.
    init(x: [Float], statisticsOf values: [Float], dims: (Int, Int, Int), random: inout RandomGenerator) {
        let (n, c, s) = dims
        let stats = Kernels.batchNormStatistics(values, batch: n, channels: c, spatial: s)
        self.x = x
        self.dims = dims
        mean = stats.mean
        invStd = stats.variance.map { 1 / ($0 + 1e-5).squareRoot() }
        scale = (0..<c).map { _ in random.nextNormal() }
    }

    func backward(
        _ g: [Float],
        output: [Float]? = nil,
        affine: (scale: [Float], shift: [Float])? = nil,
        keep: Bool = false
    ) -> (dx: [Float], sumG: [Float], sumGXhat: [Float], masked: [Float]?) {
        let (n, c, s) = dims
        return Kernels.batchNormBackward(
            g,
            x,
            batch: n,
            channels: c,
            spatial: s,
            mean: mean,
            invStd: invStd,
            scale: scale,
            reluOutput: output,
            reluAffine: affine,
            keepMasked: keep
        )
    }
}
