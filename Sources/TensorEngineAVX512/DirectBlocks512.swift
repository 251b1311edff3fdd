// The stride-1 direct convolution's register blocks for CPUs with AVX-512.
//
// This module alone is compiled for skylake-avx512 (Package.swift), so its SIMD16<Float> arithmetic
// becomes single zmm instructions, FMAs with the weight broadcast folded into the instruction.
// TensorEngine calls it only after checking that the CPU and the kernel support AVX-512
// (`SIMDLevel` in TensorEngine); nothing here may be inlined into code that runs elsewhere, which
// is why the entry point is a plain public function and nothing is @inlinable.
//
// The layout is TensorEngine's DirectConvPlan: a stacked, zero-padded input grid whose taps are
// shifted contiguous vectors, weights packed as (channel block, tap, 4), results as rows of
// `rowStride` floats per output channel.

/// Output positions per register block: 3 vectors of 16.
public let directBlockPositions512 = 48

/// For every position block of [firstPosition, lastPosition) (multiples of 48) and every block of 4
/// output channels: out[4·kb + j][p + 0..<48] = Σ_t packed[kb][t][j] · x[p + offsets[t] + 0..<48].
///
/// - x: the stacked input grid of one group (read at p + offsets[t], up to 47 floats beyond).
/// - offsets: `taps` read offsets relative to the output position.
/// - packed: (channelBlocks, taps, 4) weights of the group.
/// - out: row 0 of the results, one row of `rowStride` floats per output channel.
public func directBlocks512(
    _ x: UnsafePointer<Float>,
    _ offsets: UnsafePointer<Int>,
    taps: Int,
    _ packed: UnsafePointer<Float>,
    channelBlocks: Int,
    _ out: UnsafeMutablePointer<Float>,
    rowStride: Int,
    firstPosition: Int,
    lastPosition: Int
) {
    var p = firstPosition
    while p < lastPosition {
        // Pairs of channel blocks share each input vector between 8 output channels; an odd last
        // block runs alone.
        var kb = 0
        while kb + 1 < channelBlocks {
            microKernel8(
                x + p,
                offsets,
                taps,
                packed + kb * taps * 4,
                packed + (kb + 1) * taps * 4,
                out + kb * 4 * rowStride + p,
                rowStride: rowStride
            )
            kb += 2
        }
        if kb < channelBlocks {
            microKernel(
                x + p,
                offsets,
                taps,
                packed + kb * taps * 4,
                out + kb * 4 * rowStride + p,
                rowStride: rowStride
            )
        }
        p += directBlockPositions512
    }
}

/// 8 output channels (two packed blocks of 4, `w` and `v`) × 48 positions in 24 SIMD16
/// accumulators: each tap's three input vectors feed 24 FMAs instead of 12.
@inline(__always)
private func microKernel8(
    _ x: UnsafePointer<Float>,
    _ offsets: UnsafePointer<Int>,
    _ taps: Int,
    _ w: UnsafePointer<Float>,
    _ v: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>,
    rowStride: Int
) {
    typealias V = SIMD16<Float>
    var a00 = V()
    var a01 = V()
    var a02 = V()
    var a10 = V()
    var a11 = V()
    var a12 = V()
    var a20 = V()
    var a21 = V()
    var a22 = V()
    var a30 = V()
    var a31 = V()
    var a32 = V()
    var a40 = V()
    var a41 = V()
    var a42 = V()
    var a50 = V()
    var a51 = V()
    var a52 = V()
    var a60 = V()
    var a61 = V()
    var a62 = V()
    var a70 = V()
    var a71 = V()
    var a72 = V()
    var wp = w
    var vp = v
    for t in 0..<taps {
        let xs = UnsafeRawPointer(x + offsets[t])
        let x0 = xs.loadUnaligned(as: V.self)
        let x1 = xs.loadUnaligned(fromByteOffset: 64, as: V.self)
        let x2 = xs.loadUnaligned(fromByteOffset: 128, as: V.self)
        let b0 = V(repeating: wp[0])
        a00.addProduct(x0, b0)
        a01.addProduct(x1, b0)
        a02.addProduct(x2, b0)
        let b1 = V(repeating: wp[1])
        a10.addProduct(x0, b1)
        a11.addProduct(x1, b1)
        a12.addProduct(x2, b1)
        let b2 = V(repeating: wp[2])
        a20.addProduct(x0, b2)
        a21.addProduct(x1, b2)
        a22.addProduct(x2, b2)
        let b3 = V(repeating: wp[3])
        a30.addProduct(x0, b3)
        a31.addProduct(x1, b3)
        a32.addProduct(x2, b3)
        let b4 = V(repeating: vp[0])
        a40.addProduct(x0, b4)
        a41.addProduct(x1, b4)
        a42.addProduct(x2, b4)
        let b5 = V(repeating: vp[1])
        a50.addProduct(x0, b5)
        a51.addProduct(x1, b5)
        a52.addProduct(x2, b5)
        let b6 = V(repeating: vp[2])
        a60.addProduct(x0, b6)
        a61.addProduct(x1, b6)
        a62.addProduct(x2, b6)
        let b7 = V(repeating: vp[3])
        a70.addProduct(x0, b7)
        a71.addProduct(x1, b7)
        a72.addProduct(x2, b7)
        wp += 4
        vp += 4
    }
    store3(a00, a01, a02, out)
    store3(a10, a11, a12, out + rowStride)
    store3(a20, a21, a22, out + 2 * rowStride)
    store3(a30, a31, a32, out + 3 * rowStride)
    store3(a40, a41, a42, out + 4 * rowStride)
    store3(a50, a51, a52, out + 5 * rowStride)
    store3(a60, a61, a62, out + 6 * rowStride)
    store3(a70, a71, a72, out + 7 * rowStride)
}

@inline(__always)
private func store3(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ out: UnsafeMutablePointer<Float>) {
    let o = UnsafeMutableRawPointer(out)
    o.storeBytes(of: a, toByteOffset: 0, as: SIMD16<Float>.self)
    o.storeBytes(of: b, toByteOffset: 64, as: SIMD16<Float>.self)
    o.storeBytes(of: c, toByteOffset: 128, as: SIMD16<Float>.self)
}

/// 4 output channels × 48 positions in 12 SIMD16 accumulators.
@inline(__always)
private func microKernel(
    _ x: UnsafePointer<Float>,
    _ offsets: UnsafePointer<Int>,
    _ taps: Int,
    _ w: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>,
    rowStride: Int
) {
    typealias V = SIMD16<Float>
    var a00 = V()
    var a01 = V()
    var a02 = V()
    var a10 = V()
    var a11 = V()
    var a12 = V()
    var a20 = V()
    var a21 = V()
    var a22 = V()
    var a30 = V()
    var a31 = V()
    var a32 = V()
    var wp = w
    for t in 0..<taps {
        let xs = UnsafeRawPointer(x + offsets[t])
        let v0 = xs.loadUnaligned(as: V.self)
        let v1 = xs.loadUnaligned(fromByteOffset: 64, as: V.self)
        let v2 = xs.loadUnaligned(fromByteOffset: 128, as: V.self)
        let b0 = V(repeating: wp[0])
        a00.addProduct(v0, b0)
        a01.addProduct(v1, b0)
        a02.addProduct(v2, b0)
        let b1 = V(repeating: wp[1])
        a10.addProduct(v0, b1)
        a11.addProduct(v1, b1)
        a12.addProduct(v2, b1)
        let b2 = V(repeating: wp[2])
        a20.addProduct(v0, b2)
        a21.addProduct(v1, b2)
        a22.addProduct(v2, b2)
        let b3 = V(repeating: wp[3])
        a30.addProduct(v0, b3)
        a31.addProduct(v1, b3)
        a32.addProduct(v2, b3)
        wp += 4
    }
    store3(a00, a01, a02, out)
    store3(a10, a11, a12, out + rowStride)
    store3(a20, a21, a22, out + 2 * rowStride)
    store3(a30, a31, a32, out + 3 * rowStride)
}

/// Taps per filter-gradient register block.
public let filterBlockTaps512 = 6

/// The filter gradient's register block: out[j·6 + i] += Σ_(p < count) dy[j][p] · x[offsets[i] + p]
/// for 4 rows j of dy (`rowStride` apart) and 6 taps i, in 24 SIMD16 partial sums: 10 loads feed 24
/// FMAs. `count` is a multiple of 16.
public func filterBlock512(
    _ dy: UnsafePointer<Float>,
    rowStride: Int,
    _ x: UnsafePointer<Float>,
    _ offsets: UnsafePointer<Int>,
    _ count: Int,
    _ out: UnsafeMutablePointer<Float>
) {
    typealias V = SIMD16<Float>
    var a00 = V()
    var a01 = V()
    var a02 = V()
    var a03 = V()
    var a04 = V()
    var a05 = V()
    var a10 = V()
    var a11 = V()
    var a12 = V()
    var a13 = V()
    var a14 = V()
    var a15 = V()
    var a20 = V()
    var a21 = V()
    var a22 = V()
    var a23 = V()
    var a24 = V()
    var a25 = V()
    var a30 = V()
    var a31 = V()
    var a32 = V()
    var a33 = V()
    var a34 = V()
    var a35 = V()
    let d0p = UnsafeRawPointer(dy)
    let d1p = UnsafeRawPointer(dy + rowStride)
    let d2p = UnsafeRawPointer(dy + 2 * rowStride)
    let d3p = UnsafeRawPointer(dy + 3 * rowStride)
    let x0 = UnsafeRawPointer(x + offsets[0])
    let x1 = UnsafeRawPointer(x + offsets[1])
    let x2 = UnsafeRawPointer(x + offsets[2])
    let x3 = UnsafeRawPointer(x + offsets[3])
    let x4 = UnsafeRawPointer(x + offsets[4])
    let x5 = UnsafeRawPointer(x + offsets[5])
    var byte = 0
    let end = count * 4
    while byte < end {
        let d0 = d0p.loadUnaligned(fromByteOffset: byte, as: V.self)
        let d1 = d1p.loadUnaligned(fromByteOffset: byte, as: V.self)
        let d2 = d2p.loadUnaligned(fromByteOffset: byte, as: V.self)
        let d3 = d3p.loadUnaligned(fromByteOffset: byte, as: V.self)
        let v0 = x0.loadUnaligned(fromByteOffset: byte, as: V.self)
        a00.addProduct(d0, v0)
        a10.addProduct(d1, v0)
        a20.addProduct(d2, v0)
        a30.addProduct(d3, v0)
        let v1 = x1.loadUnaligned(fromByteOffset: byte, as: V.self)
        a01.addProduct(d0, v1)
        a11.addProduct(d1, v1)
        a21.addProduct(d2, v1)
        a31.addProduct(d3, v1)
        let v2 = x2.loadUnaligned(fromByteOffset: byte, as: V.self)
        a02.addProduct(d0, v2)
        a12.addProduct(d1, v2)
        a22.addProduct(d2, v2)
        a32.addProduct(d3, v2)
        let v3 = x3.loadUnaligned(fromByteOffset: byte, as: V.self)
        a03.addProduct(d0, v3)
        a13.addProduct(d1, v3)
        a23.addProduct(d2, v3)
        a33.addProduct(d3, v3)
        let v4 = x4.loadUnaligned(fromByteOffset: byte, as: V.self)
        a04.addProduct(d0, v4)
        a14.addProduct(d1, v4)
        a24.addProduct(d2, v4)
        a34.addProduct(d3, v4)
        let v5 = x5.loadUnaligned(fromByteOffset: byte, as: V.self)
        a05.addProduct(d0, v5)
        a15.addProduct(d1, v5)
        a25.addProduct(d2, v5)
        a35.addProduct(d3, v5)
        byte += 64
    }
    out[0] += a00.sum()
    out[1] += a01.sum()
    out[2] += a02.sum()
    out[3] += a03.sum()
    out[4] += a04.sum()
    out[5] += a05.sum()
    out[6] += a10.sum()
    out[7] += a11.sum()
    out[8] += a12.sum()
    out[9] += a13.sum()
    out[10] += a14.sum()
    out[11] += a15.sum()
    out[12] += a20.sum()
    out[13] += a21.sum()
    out[14] += a22.sum()
    out[15] += a23.sum()
    out[16] += a24.sum()
    out[17] += a25.sum()
    out[18] += a30.sum()
    out[19] += a31.sum()
    out[20] += a32.sum()
    out[21] += a33.sum()
    out[22] += a34.sum()
    out[23] += a35.sum()
}

/// Runs `iterations` rounds of 24 independent SIMD16 FMAs (register-only: no loads, no stores) and
/// returns a value that depends on all of them, so that nothing is optimised away. One round is
/// 24 · 16 · 2 = 768 floating-point operations: the machine's FMA peak, for reporting kernels as a
/// fraction of it.
public func fmaPeakRounds512(_ iterations: Int, seed: Float) -> Float {
    typealias V = SIMD16<Float>
    let m = V(repeating: 0.999)
    let c = V(repeating: seed * 5e-4)
    var a = (V(repeating: seed), V(repeating: seed), V(repeating: seed), V(repeating: seed))
    var b = a
    var d = a
    var e = a
    var f = a
    var g = a
    for _ in 0..<iterations {
        a.0 = c.addingProduct(a.0, m)
        a.1 = c.addingProduct(a.1, m)
        a.2 = c.addingProduct(a.2, m)
        a.3 = c.addingProduct(a.3, m)
        b.0 = c.addingProduct(b.0, m)
        b.1 = c.addingProduct(b.1, m)
        b.2 = c.addingProduct(b.2, m)
        b.3 = c.addingProduct(b.3, m)
        d.0 = c.addingProduct(d.0, m)
        d.1 = c.addingProduct(d.1, m)
        d.2 = c.addingProduct(d.2, m)
        d.3 = c.addingProduct(d.3, m)
        e.0 = c.addingProduct(e.0, m)
        e.1 = c.addingProduct(e.1, m)
        e.2 = c.addingProduct(e.2, m)
        e.3 = c.addingProduct(e.3, m)
        f.0 = c.addingProduct(f.0, m)
        f.1 = c.addingProduct(f.1, m)
        f.2 = c.addingProduct(f.2, m)
        f.3 = c.addingProduct(f.3, m)
        g.0 = c.addingProduct(g.0, m)
        g.1 = c.addingProduct(g.1, m)
        g.2 = c.addingProduct(g.2, m)
        g.3 = c.addingProduct(g.3, m)
    }
    let s = a.0 + a.1 + a.2 + a.3 + b.0 + b.1 + b.2 + b.3 + d.0 + d.1 + d.2 + d.3
    let t = e.0 + e.1 + e.2 + e.3 + f.0 + f.1 + f.2 + f.3 + g.0 + g.1 + g.2 + g.3
    return (s + t).sum()
}
