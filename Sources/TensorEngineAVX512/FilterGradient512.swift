import CKernels512

// The 3×3 stride-1 filter gradient with output channels in the vector lanes, for CPUs with AVX-512.
//
// dw[k][c][r,s] = Σ_positions dy[k][position] · x[c][position + (r, s)]. The other filter-gradient
// block (`filterBlock512`) keeps positions in the lanes and must end each chunk with horizontal sums,
// and it runs over the stacked grid's junk positions (a 7×7 output on an 8×8 grid: 64 positions for
// 49). Here the lanes are 16 output channels: dy is first transposed to position-major order
// (`transposeToPositionMajor512`), so each output position is one aligned vector load of dy and 18
// FMAs with x's values broadcast from memory, and only real positions are visited. The sums stay in
// registers across a whole chunk and are added to `out` once.

/// Output channels per lane block.
public let filterLanes512 = 16
/// Input channels per register block (2 × 9 taps: 18 accumulators).
public let filterChannels512 = 2

/// For 16 output channels (the lanes) and 2 input channels: out[(cc·9 + 3r + s)·16 + lane] +=
/// Σ over the `rows` output rows t and their `width` positions j of dyT[(t·width + j)·positionStride +
/// lane] · x_cc[rowBases[t] + j + r·rowLength + s].
///
/// - dyT: the chunk's dy in position-major order, at this block's first output channel.
/// - x0, x1: the two input channels' stacked grids (the same pointer twice for a lone channel).
/// - rowBases: the grid position of each output row's first position.
/// - columnStride: the convolution's stride, 1 or 2: position j of a row reads columns
///   columnStride·j + s.
public func filterLaneBlock512(
    _ dyT: UnsafePointer<Float>,
    positionStride: Int,
    _ x0: UnsafePointer<Float>,
    _ x1: UnsafePointer<Float>,
    rowLength: Int,
    rowBases: UnsafePointer<Int>,
    rows: Int,
    width: Int,
    columnStride: Int = 1,
    _ out: UnsafeMutablePointer<Float>
) {
    precondition(columnStride == 1 || columnStride == 2, "filterLaneBlock512: stride 1 or 2, not \(columnStride)")
    // One copy of the loop per stride, each with its stride a constant of the addressing.
    if columnStride == 2 {
        laneBlock(dyT, positionStride, x0, x1, rowLength, rowBases, rows, width, step: 2, out)
    } else {
        laneBlock(dyT, positionStride, x0, x1, rowLength, rowBases, rows, width, step: 1, out)
    }
}

@inline(__always)
private func laneBlock(
    _ dyT: UnsafePointer<Float>,
    _ positionStride: Int,
    _ x0: UnsafePointer<Float>,
    _ x1: UnsafePointer<Float>,
    _ rowLength: Int,
    _ rowBases: UnsafePointer<Int>,
    _ rows: Int,
    _ width: Int,
    step: Int,
    _ out: UnsafeMutablePointer<Float>
) {
    typealias V = SIMD16<Float>
    var a00 = V()
    var a01 = V()
    var a02 = V()
    var a03 = V()
    var a04 = V()
    var a05 = V()
    var a06 = V()
    var a07 = V()
    var a08 = V()
    var a10 = V()
    var a11 = V()
    var a12 = V()
    var a13 = V()
    var a14 = V()
    var a15 = V()
    var a16 = V()
    var a17 = V()
    var a18 = V()
    var d = UnsafeRawPointer(dyT)
    let byteStep = 4 * positionStride
    for t in 0..<rows {
        let base = rowBases[t]
        let p0 = x0 + base
        let q0 = p0 + rowLength
        let r0 = q0 + rowLength
        let p1 = x1 + base
        let q1 = p1 + rowLength
        let r1 = q1 + rowLength
        var j = 0
        let end = step * width
        while j < end {
            let g = d.loadUnaligned(as: V.self)
            a00.addProduct(g, V(repeating: p0[j]))
            a01.addProduct(g, V(repeating: p0[j &+ 1]))
            a02.addProduct(g, V(repeating: p0[j &+ 2]))
            a03.addProduct(g, V(repeating: q0[j]))
            a04.addProduct(g, V(repeating: q0[j &+ 1]))
            a05.addProduct(g, V(repeating: q0[j &+ 2]))
            a06.addProduct(g, V(repeating: r0[j]))
            a07.addProduct(g, V(repeating: r0[j &+ 1]))
            a08.addProduct(g, V(repeating: r0[j &+ 2]))
            a10.addProduct(g, V(repeating: p1[j]))
            a11.addProduct(g, V(repeating: p1[j &+ 1]))
            a12.addProduct(g, V(repeating: p1[j &+ 2]))
            a13.addProduct(g, V(repeating: q1[j]))
            a14.addProduct(g, V(repeating: q1[j &+ 1]))
            a15.addProduct(g, V(repeating: q1[j &+ 2]))
            a16.addProduct(g, V(repeating: r1[j]))
            a17.addProduct(g, V(repeating: r1[j &+ 1]))
            a18.addProduct(g, V(repeating: r1[j &+ 2]))
            d += byteStep
            j &+= step
        }
    }
    let o = UnsafeMutableRawPointer(out)
    @inline(__always)
    func add(_ index: Int, _ v: V) {
        let at = 64 * index
        o.storeBytes(of: o.loadUnaligned(fromByteOffset: at, as: V.self) + v, toByteOffset: at, as: V.self)
    }
    add(0, a00)
    add(1, a01)
    add(2, a02)
    add(3, a03)
    add(4, a04)
    add(5, a05)
    add(6, a06)
    add(7, a07)
    add(8, a08)
    add(9, a10)
    add(10, a11)
    add(11, a12)
    add(12, a13)
    add(13, a14)
    add(14, a15)
    add(15, a16)
    add(16, a17)
    add(17, a18)
}

/// dst[q·dstStride + k] = src[k·srcStride + q] for k < 16·kBlocks and q < columns: rows of a
/// channel-major matrix (dy of one image: K rows of Ho·Wo) into position-major order, 16×16 blocks
/// transposed in registers (`rkd_transpose16x16`, in C) and the last columns one at a time.
public func transposeToPositionMajor512(
    _ src: UnsafePointer<Float>,
    srcStride: Int,
    kBlocks: Int,
    columns: Int,
    _ dst: UnsafeMutablePointer<Float>,
    dstStride: Int
) {
    let whole = columns / 16 * 16
    for kb in 0..<kBlocks {
        let rows = src + 16 * kb * srcStride
        let out = dst + 16 * kb
        var q = 0
        while q < whole {
            rkd_transpose16x16(rows + q, srcStride, out + q * dstStride, dstStride)
            q += 16
        }
        while q < columns {
            for k in 0..<16 { out[q * dstStride + k] = rows[k * srcStride + q] }
            q += 1
        }
    }
}
