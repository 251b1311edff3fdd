import TensorEngineTestSupport
import Testing

@testable import TensorEngine

/// The vector loops that store convolution results and transform Winograd tiles, against their
/// definitions written one entry at a time: the same bits.
@Suite("Convolution epilogue store and F(4×4) transforms")
struct ConvEpilogueStoreTests {
    /// Entries that exercise the relu's edge cases: NaN kept, −0 and +0 kept as they are, negatives
    /// to +0.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { i in
            switch i % 11 {
            case 3: .nan
            case 5: -0.0
            case 7: 0
            default: rng.nextNormal()
            }
        }
    }

    /// act(src + bias + residual) entry by entry, in the order the epilogue defines.
    static func expected(_ src: [Float], bias: Float, residual: [Float]?, offset: Int, relu: Bool) -> [Float] {
        src.indices.map { i in
            var v = src[i] + bias
            if let residual { v += residual[offset + i] }
            return relu && v < 0 ? 0 : v
        }
    }

    /// Every length from 0 to 40 (shorter than a vector, whole vectors, an overlapping last vector),
    /// with and without a residual (read from an offset) and relu, into another buffer and in place.
    @Test func storeEqualsTheEntryByEntryDefinition() {
        let offset = 5
        for count in 0...40 {
            let src = Self.values(count, seed: UInt64(count) + 1)
            let residual = Self.values(count + offset, seed: UInt64(count) + 101)
            for (useResidual, relu) in [(false, false), (false, true), (true, false), (true, true)] {
                let bias: Float = count % 2 == 0 ? 0.25 : 0
                let want = Self.expected(
                    src,
                    bias: bias,
                    residual: useResidual ? residual : nil,
                    offset: offset,
                    relu: relu
                )
                residual.withUnsafeBufferPointer { r in
                    let epilogue = ConvEpilogue(residual: useResidual ? r.baseAddress : nil, relu: relu)
                    let label = "count \(count) residual \(useResidual) relu \(relu)"
                    var out = [Float](repeating: 7, count: count)
                    src.withUnsafeBufferPointer { s in
                        out.withUnsafeMutableBufferPointer { o in
                            guard let s = s.baseAddress, let o = o.baseAddress else { return }
                            epilogue.store(s, bias: bias, o, offset: offset, count: count)
                        }
                    }
                    #expect(out.map(\.bitPattern) == want.map(\.bitPattern), "\(label)")
                    var inPlace = src
                    inPlace.withUnsafeMutableBufferPointer { p in
                        guard let p = p.baseAddress else { return }
                        epilogue.store(p, bias: bias, p, offset: offset, count: count)
                    }
                    #expect(inPlace.map(\.bitPattern) == want.map(\.bitPattern), "in place, \(label)")
                }
            }
        }
    }

    /// The residual buffer as the destination: each entry is read before it is overwritten.
    @Test func storeIntoTheResidual() {
        for count in [5, 7, 8, 13, 28, 31] {
            let src = Self.values(count, seed: 7)
            var residual = Self.values(count, seed: 8)
            let want = Self.expected(src, bias: 1, residual: residual, offset: 0, relu: true)
            residual.withUnsafeMutableBufferPointer { r in
                src.withUnsafeBufferPointer { s in
                    guard let r = r.baseAddress, let s = s.baseAddress else { return }
                    ConvEpilogue(residual: r, relu: true).store(s, bias: 1, r, offset: 0, count: count)
                }
            }
            #expect(residual.map(\.bitPattern) == want.map(\.bitPattern), "count \(count)")
        }
    }

    /// Bᵀ and Aᵀ of F(4×4, 3×3) with fused multiply-adds equal the plain products and sums (the
    /// multipliers there are powers of two), on values of very different magnitudes.
    @Test func transformsEqualTheirPlainExpressions() {
        typealias V = SIMD8<Float>
        var rng = RandomGenerator(seed: 19)
        func vector() -> V {
            var v = V()
            for lane in 0..<8 {
                let scale: Float = [1e-30, 1e-3, 1, 3e4, 1e30][Int(rng.next() % 5)]
                v[lane] = rng.nextNormal() * scale
            }
            return v
        }
        func bits(_ v: V) -> [UInt32] { (0..<8).map { v[$0].bitPattern } }
        for _ in 0..<2000 {
            let d = (0..<6).map { _ in vector() }
            let b = Kernels.winograd4B(d[0], d[1], d[2], d[3], d[4], d[5])
            let a4 = d[4] - 4 * d[2]
            let b4 = 4 * d[1] - d[3]
            let c4 = d[4] - d[2]
            let e4 = 2 * (d[1] - d[3])
            let plainB = [4 * d[0] - 5 * d[2] + d[4], a4 - b4, a4 + b4, c4 - e4, c4 + e4, 4 * d[1] - 5 * d[3] + d[5]]
            #expect([b.0, b.1, b.2, b.3, b.4, b.5].map(bits) == plainB.map(bits))
            let a = Kernels.winograd4A(d[0], d[1], d[2], d[3], d[4], d[5])
            let (s12, d12, s34, d34) = (d[1] + d[2], d[1] - d[2], d[3] + d[4], d[3] - d[4])
            let plainA = [d[0] + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + d[5]]
            #expect([a.0, a.1, a.2, a.3].map(bits) == plainA.map(bits))
        }
    }
}
