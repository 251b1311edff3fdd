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
        for kb in 0..<channelBlocks {
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
    let o0 = UnsafeMutableRawPointer(out)
    o0.storeBytes(of: a00, toByteOffset: 0, as: V.self)
    o0.storeBytes(of: a01, toByteOffset: 64, as: V.self)
    o0.storeBytes(of: a02, toByteOffset: 128, as: V.self)
    let o1 = UnsafeMutableRawPointer(out + rowStride)
    o1.storeBytes(of: a10, toByteOffset: 0, as: V.self)
    o1.storeBytes(of: a11, toByteOffset: 64, as: V.self)
    o1.storeBytes(of: a12, toByteOffset: 128, as: V.self)
    let o2 = UnsafeMutableRawPointer(out + 2 * rowStride)
    o2.storeBytes(of: a20, toByteOffset: 0, as: V.self)
    o2.storeBytes(of: a21, toByteOffset: 64, as: V.self)
    o2.storeBytes(of: a22, toByteOffset: 128, as: V.self)
    let o3 = UnsafeMutableRawPointer(out + 3 * rowStride)
    o3.storeBytes(of: a30, toByteOffset: 0, as: V.self)
    o3.storeBytes(of: a31, toByteOffset: 64, as: V.self)
    o3.storeBytes(of: a32, toByteOffset: 128, as: V.self)
}

/// The filter gradient's register block: out[j·3 + i] += Σ_(p < count) dy[j][p] · x[o_i + p] for 4
/// rows j of dy (`rowStride` apart) and 3 taps i, in SIMD16 partial sums. `count` is a multiple of 16.
public func filterBlock512(
    _ dy: UnsafePointer<Float>,
    rowStride: Int,
    _ x: UnsafePointer<Float>,
    _ o0: Int,
    _ o1: Int,
    _ o2: Int,
    _ count: Int,
    _ out: UnsafeMutablePointer<Float>
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
    let d = UnsafeRawPointer(dy)
    let rowBytes = rowStride * 4
    let x0 = UnsafeRawPointer(x + o0)
    let x1 = UnsafeRawPointer(x + o1)
    let x2 = UnsafeRawPointer(x + o2)
    var byte = 0
    let end = count * 4
    while byte < end {
        let v0 = x0.loadUnaligned(fromByteOffset: byte, as: V.self)
        let v1 = x1.loadUnaligned(fromByteOffset: byte, as: V.self)
        let v2 = x2.loadUnaligned(fromByteOffset: byte, as: V.self)
        let d0 = d.loadUnaligned(fromByteOffset: byte, as: V.self)
        a00.addProduct(d0, v0)
        a01.addProduct(d0, v1)
        a02.addProduct(d0, v2)
        let d1 = d.loadUnaligned(fromByteOffset: rowBytes + byte, as: V.self)
        a10.addProduct(d1, v0)
        a11.addProduct(d1, v1)
        a12.addProduct(d1, v2)
        let d2 = d.loadUnaligned(fromByteOffset: 2 * rowBytes + byte, as: V.self)
        a20.addProduct(d2, v0)
        a21.addProduct(d2, v1)
        a22.addProduct(d2, v2)
        let d3 = d.loadUnaligned(fromByteOffset: 3 * rowBytes + byte, as: V.self)
        a30.addProduct(d3, v0)
        a31.addProduct(d3, v1)
        a32.addProduct(d3, v2)
        byte += 64
    }
    out[0] += a00.sum()
    out[1] += a01.sum()
    out[2] += a02.sum()
    out[3] += a10.sum()
    out[4] += a11.sum()
    out[5] += a12.sum()
    out[6] += a20.sum()
    out[7] += a21.sum()
    out[8] += a22.sum()
    out[9] += a30.sum()
    out[10] += a31.sum()
    out[11] += a32.sum()
}
