// The filter gradient of a stride-1 3×3 convolution by the adjoint of Winograd F(2×2, 3×3).
//
// The forward computes each 2×2 output tile as Aᵀ[Σ_c U_kc ⊙ V_ct]A with U_kc = G·w[k,c]·Gᵀ and
// V_ct = Bᵀ·d_ct·B (WinogradConvolution.swift). Its adjoint in w, summed over every tile t of the
// batch, is
//
//     dU_kc = Σ_t (A·dy_kt·Aᵀ) ⊙ V_ct,    dw[k,c] = Gᵀ·dU_kc·G,
//
// dy_kt being the tile's 2×2 output gradient (zero past the output's edges), with
// A = [1 0; 1 1; 1 −1; 0 −1] and Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]. For each of the 16 points ξ the
// sum over tiles is a product of two matrices whose rows run over tiles: dM_ξ (K × tiles) and V_ξ
// (C × tiles). Block by block of tile rows, the forward's input transform (unchanged) writes V, then
// for each block of 4 output channels `winogradOutputGradientTransform` writes their dM and
// `winogradFilterProducts` reduces over the block's tiles, 4 output × 3 input channels a call
// (`winogradFilterKernel`): 16 multiply-adds per tile and channel pair where the direct kernel does
// 36 per 2×2 outputs. Only the 3×3 result per channel pair is transformed back, once, in Double.
//
// The blocks are split into a fixed number of slots, each summed in order into its own sums and the
// slots then added in order, so the result does not depend on the thread count. Results differ from
// the direct kernel's by rounding only.
//
// Measured against the direct kernel (EngineBench --only winograd, 2026-12-05, batch 128): 32→32
// @14 1.25–1.29×, 16→16 @28 0.75–0.83×, 64→64 @7 0.89–0.96× (a 7×7 output in 2×2 tiles computes 64
// outputs for 49); so the automatic choice takes it where the forward takes F(2×2). docs/benchmarks/
// speedups.md has the variants that were tried (F(4×4)'s adjoint, transforms and products in two
// phases).

extension WinogradPlan {
    /// Slots the blocks are split into (at most): a constant, so that the sums' order, and with it the
    /// rounding, is the same for every thread count.
    static let filterSlots = 8

    /// The filter gradient's plan: blocks whose V (16 × C × tiles) takes about 768 KB, up to 512 tiles,
    /// and at least `filterSlots` blocks. Longer blocks make each micro-kernel call's closing sums
    /// cheap against its vector loop; V then outgrows L2, which costs less than the sums. At 32→32 @14:
    /// 384 KB 1.08–1.10× the direct kernel, 768 KB 1.25×, 1.5 MB 1.06×.
    static func filterGradient(_ g: Conv2DGeometry, simd: SIMDLevel) -> WinogradPlan {
        var plan = WinogradPlan(g, tile: 2, simd: simd)
        let tiles = min(512, 196_608 / (plan.transformPoints * plan.inChannels))
        plan.rowsPerBlock = max(1, min(tiles / plan.rowStride, plan.tileRows / filterSlots))
        return plan
    }

    /// Floats from dM[ξ] (4 output channels × tiles) to dM[ξ + 1], padded as V's.
    var filterPointStride: Int { Self.padded(4 * blockTiles) }
    /// Blocks of 3 input channels: the micro-kernel's taps.
    var inChannelTriples: Int { (inChannels + 2) / 3 }
    /// Floats of one slot's sums: 12 (4 output × 3 input channels) per point, channel block and triple.
    var filterSumsCount: Int { transformPoints * channelBlocks * inChannelTriples * 12 }
}

/// The output gradient transform's buffers: two zero-padded lines per tile row of a block, and four
/// arrays over the block's tiles.
struct WinogradGradientScratch {
    var lines: UnsafeMutablePointer<Float>
    var pitch: Int
    var staged: UnsafeMutablePointer<Float>
    var phase: Int

    init(_ plan: WinogradPlan) {
        pitch = 2 * plan.rowStride + 32
        phase = plan.blockTiles + 16
        lines = .allocate(capacity: 2 * plan.rowsPerBlock * pitch)
        lines.initialize(repeating: 0, count: 2 * plan.rowsPerBlock * pitch)
        staged = .allocate(capacity: 4 * phase)
        staged.initialize(repeating: 0, count: 4 * phase)
    }

    func deallocate() {
        lines.deallocate()
        staged.deallocate()
    }
}

extension Kernels {
    /// dw = Σₙ dy ⋆ x for a 3×3 stride-1 convolution (`g.winogradApplies`), by F(2×2, 3×3)'s adjoint.
    static func conv2dWinogradBackwardFilter(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        simd: SIMDLevel = .active
    ) {
        precondition(g.winogradApplies, "conv2dWinogradBackwardFilter: needs 3×3, stride 1, no dilation, one group")
        if winogradLaneFilterGradientApplies(inChannels: g.inChannels, outChannels: g.outChannels, simd: simd) {
            winogradLaneFilterGradient(x, dy, dw, g)
            return
        }
        let plan = WinogradPlan.filterGradient(g, simd: simd)
        let points = plan.transformPoints
        let perSlot = (plan.blocks + WinogradPlan.filterSlots - 1) / WinogradPlan.filterSlots
        let slots = (plan.blocks + perSlot - 1) / perSlot
        let sumsCount = plan.filterSumsCount
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: slots * sumsCount)
        partial.initialize(repeating: 0, count: slots * sumsCount)
        defer { partial.deallocate() }
        let cost = points * (plan.inChannels + plan.outChannels) * plan.blockTiles * 4 * perSlot
        parallelChunks(slots, costPerItem: cost) { range in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: points * plan.vPointStride)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: points * plan.filterPointStride)
            let staged = UnsafeMutablePointer<Float>.allocate(capacity: plan.stagedCount)
            let line = UnsafeMutablePointer<Float>.allocate(capacity: plan.lineCount)
            let scratch = WinogradGradientScratch(plan)
            // The rows past K of the last channel block are never written; what the micro-kernel sums
            // from them is discarded, but it must not read uninitialised memory.
            m.initialize(repeating: 0, count: points * plan.filterPointStride)
            staged.initialize(repeating: 0, count: plan.stagedCount)
            line.initialize(repeating: 0, count: plan.lineCount)
            defer {
                v.deallocate()
                m.deallocate()
                staged.deallocate()
                line.deallocate()
                scratch.deallocate()
            }
            for slot in range {
                let sums = partial + slot * sumsCount
                for block in (slot * perSlot)..<min(plan.blocks, (slot + 1) * perSlot) {
                    winogradInputTransform(x, block: block, plan, line, staged, v)
                    // A channel block's dM at a time, read from L1 while V streams from L2.
                    for kb in 0..<plan.channelBlocks {
                        winogradOutputGradientTransform(dy, block: block, channelBlock: kb, plan, scratch, m)
                        winogradFilterProducts(v, m, block: block, channelBlock: kb, plan, sums)
                    }
                }
            }
        }
        // The slots in order, then dw = Gᵀ·dU·G per channel pair, in Double.
        for slot in 1..<max(1, slots) {
            let from = partial + slot * sumsCount
            for i in 0..<sumsCount { partial[i] += from[i] }
        }
        let triples = plan.inChannelTriples
        let blockStride = plan.channelBlocks * triples * 12
        for k in 0..<plan.outChannels {
            for c in 0..<plan.inChannels {
                let entry = ((k / 4) * triples + c / 3) * 12 + (k % 4) * 3 + c % 3
                func u(_ xi: Int) -> Double { Double(partial[xi * blockStride + entry]) }
                // t = Gᵀ·dU (3 × 4), then dw = t·G (3 × 3).
                var t = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
                for col in 0..<4 {
                    let (u0, u1, u2, u3) = (u(col), u(4 + col), u(8 + col), u(12 + col))
                    t.0[col] = u0 + 0.5 * (u1 + u2)
                    t.1[col] = 0.5 * (u1 - u2)
                    t.2[col] = 0.5 * (u1 + u2) + u3
                }
                let out = dw + (k * plan.inChannels + c) * 9
                func store(_ row: Int, _ r: SIMD4<Double>) {
                    out[3 * row] = Float(r[0] + 0.5 * (r[1] + r[2]))
                    out[3 * row + 1] = Float(0.5 * (r[1] - r[2]))
                    out[3 * row + 2] = Float(0.5 * (r[1] + r[2]) + r[3])
                }
                store(0, t.0)
                store(1, t.1)
                store(2, t.2)
            }
        }
    }

    /// dM[ξ][j][t] = (A·dy_kt·Aᵀ)[ξ] for output channels k = 4·channelBlock + j < K and the tiles t of
    /// one block (points `filterPointStride` apart), zero from the block's last real tile to its used
    /// count. As the input's staging: a channel's two output rows per tile row are copied into zero-
    /// padded lines, then split into four arrays over the block's flat tile index (the even and odd
    /// columns of the top and bottom rows), so that the transform runs on whole vectors of 8 tiles
    /// whatever the row length (at 7×7, 4 tiles a row, it would otherwise compute 8 for 4).
    static func winogradOutputGradientTransform(
        _ dy: UnsafePointer<Float>,
        block: Int,
        channelBlock kb: Int,
        _ plan: WinogradPlan,
        _ scratch: WinogradGradientScratch,
        _ m: UnsafeMutablePointer<Float>
    ) {
        typealias V8 = SIMD8<Float>
        let tiles = plan.blockTiles
        let step = plan.filterPointStride
        let segment = plan.rowStride
        let outPlane = plan.outH * plan.outW
        let (rowCount, n0, i0) = plan.rows(ofBlock: block)
        let used = plan.usedTiles(ofBlock: block)
        let real = rowCount * segment
        let (lines, pitch, staged, phase) = (scratch.lines, scratch.pitch, scratch.staged, scratch.phase)
        for j4 in 0..<min(4, plan.outChannels - 4 * kb) {
            let k = 4 * kb + j4
            var (n, i) = (n0, i0)
            for r in 0..<rowCount {
                plan.advance(&n, &i)
                let plane = dy + (n * plan.outChannels + k) * outPlane
                for a in 0..<2 {
                    let oh = 2 * i + a
                    let to = lines + (2 * r + a) * pitch
                    if oh < plan.outH {
                        copyRow(plane + oh * plan.outW, to, count: plan.outW)
                    } else {
                        to.update(repeating: 0, count: plan.outW)
                    }
                }
            }
            // Arrays 2a and 2a + 1: the even and odd columns of row a of each tile. Whole vectors of 8
            // tiles; the last may write past the tile row's S entries, into the next tile row's (split
            // after it) or the slack.
            for r in 0..<rowCount {
                for a in 0..<2 {
                    let line = UnsafeRawPointer(lines + (2 * r + a) * pitch)
                    let even = UnsafeMutableRawPointer(staged + 2 * a * phase + r * segment)
                    let odd = UnsafeMutableRawPointer(staged + (2 * a + 1) * phase + r * segment)
                    var j = 0
                    while j < segment {
                        let both = line.loadUnaligned(fromByteOffset: 8 * j, as: SIMD16<Float>.self)
                        even.storeBytes(of: both.evenHalf, toByteOffset: 4 * j, as: V8.self)
                        odd.storeBytes(of: both.oddHalf, toByteOffset: 4 * j, as: V8.self)
                        j += 8
                    }
                }
            }
            if real < used {
                for array in 0..<4 { (staged + array * phase + real).update(repeating: 0, count: used - real) }
            }
            let s = UnsafeRawPointer(staged)
            var t = 0
            while t < used {
                let a0 = s.loadUnaligned(fromByteOffset: 4 * t, as: V8.self)
                let b0 = s.loadUnaligned(fromByteOffset: 4 * (phase + t), as: V8.self)
                let a1 = s.loadUnaligned(fromByteOffset: 4 * (2 * phase + t), as: V8.self)
                let b1 = s.loadUnaligned(fromByteOffset: 4 * (3 * phase + t), as: V8.self)
                // A·dy: rows (d0, d0 + d1, d0 − d1, −d1) of the tile's rows d0 = (a0, b0), d1 = (a1, b1);
                // ·Aᵀ makes each row (p, q) into (p, p + q, p − q, −q).
                var at = m + j4 * tiles + t
                winogradStore(&at, step, a0, a0 + b0, a0 - b0, -b0)
                let (p1, q1) = (a0 + a1, b0 + b1)
                winogradStore(&at, step, p1, p1 + q1, p1 - q1, -q1)
                let (p2, q2) = (a0 - a1, b0 - b1)
                winogradStore(&at, step, p2, p2 + q2, p2 - q2, -q2)
                let (p3, q3) = (-a1, -b1)
                winogradStore(&at, step, p3, p3 + q3, p3 - q3, b1)
                t += 8
            }
        }
    }

    /// sums[ξ][channelBlock][triple][4 × 3] += Σ_t dM[ξ][j][t]·V[ξ][c][t] over the block's used tiles.
    static func winogradFilterProducts(
        _ v: UnsafePointer<Float>,
        _ m: UnsafePointer<Float>,
        block: Int,
        channelBlock kb: Int,
        _ plan: WinogradPlan,
        _ sums: UnsafeMutablePointer<Float>
    ) {
        let tiles = plan.blockTiles
        let used = plan.usedTiles(ofBlock: block)
        let cs = plan.inChannels
        let triples = plan.inChannelTriples
        for xi in 0..<plan.transformPoints {
            let vx = v + xi * plan.vPointStride
            let rows = m + xi * plan.filterPointStride
            let out = sums + (xi * plan.channelBlocks + kb) * triples * 12
            for cb in 0..<triples {
                // Channels past C read row 0; their sums are discarded.
                func offset(_ c: Int) -> Int { c < cs ? c * tiles : 0 }
                winogradFilterKernel(
                    rows,
                    rowStride: tiles,
                    vx + offset(3 * cb),
                    vx + offset(3 * cb + 1),
                    vx + offset(3 * cb + 2),
                    used,
                    out + cb * 12
                )
            }
        }
    }

    /// out[3·j + i] += Σ_(t < count) d[j][t] · x_i[t] for 4 rows j of d (`rowStride` apart) and 3 rows
    /// x_i: the direct filter gradient's micro-kernel, with its 12 closing sums as vector sums.
    @inline(__always)
    static func winogradFilterKernel(
        _ d: UnsafePointer<Float>,
        rowStride: Int,
        _ x0: UnsafePointer<Float>,
        _ x1: UnsafePointer<Float>,
        _ x2: UnsafePointer<Float>,
        _ count: Int,
        _ out: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
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
        // One running byte offset from seven row pointers: no overflow checks in the loop.
        let (p0, p1, p2) = (UnsafeRawPointer(x0), UnsafeRawPointer(x1), UnsafeRawPointer(x2))
        let (q0, q1) = (UnsafeRawPointer(d), UnsafeRawPointer(d + rowStride))
        let (q2, q3) = (UnsafeRawPointer(d + 2 * rowStride), UnsafeRawPointer(d + 3 * rowStride))
        var byte = 0
        let end = count &* 4
        while byte < end {
            let v0 = p0.loadUnaligned(fromByteOffset: byte, as: V.self)
            let v1 = p1.loadUnaligned(fromByteOffset: byte, as: V.self)
            let v2 = p2.loadUnaligned(fromByteOffset: byte, as: V.self)
            let d0 = q0.loadUnaligned(fromByteOffset: byte, as: V.self)
            a00.addProduct(d0, v0)
            a01.addProduct(d0, v1)
            a02.addProduct(d0, v2)
            let d1 = q1.loadUnaligned(fromByteOffset: byte, as: V.self)
            a10.addProduct(d1, v0)
            a11.addProduct(d1, v1)
            a12.addProduct(d1, v2)
            let d2 = q2.loadUnaligned(fromByteOffset: byte, as: V.self)
            a20.addProduct(d2, v0)
            a21.addProduct(d2, v1)
            a22.addProduct(d2, v2)
            let d3 = q3.loadUnaligned(fromByteOffset: byte, as: V.self)
            a30.addProduct(d3, v0)
            a31.addProduct(d3, v1)
            a32.addProduct(d3, v2)
            byte &+= 32
        }
        // Sums of neighbouring lanes within each 128-bit half (vhaddps): (a0+a1, a2+a3, b0+b1, b2+b3,
        // a4+a5, a6+a7, b4+b5, b6+b7). Twice on four accumulators gives their sums over each half
        // (those of the low halves, then of the high halves); the halves added, their sums.
        @inline(__always)
        func pairs(_ a: V, _ b: V) -> V {
            let even = SIMD8(a[0], a[2], b[0], b[2], a[4], a[6], b[4], b[6])
            let odd = SIMD8(a[1], a[3], b[1], b[3], a[5], a[7], b[5], b[7])
            return even + odd
        }
        @inline(__always)
        func sums(_ a: V, _ b: V, _ c: V, _ d: V) -> SIMD4<Float> {
            let h = pairs(pairs(a, b), pairs(c, d))
            return h.lowHalf + h.highHalf
        }
        let first = SIMD8(lowHalf: sums(a00, a01, a02, a10), highHalf: sums(a11, a12, a20, a21))
        let tail = sums(a22, a30, a31, a32)
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: o.loadUnaligned(as: V.self) + first, as: V.self)
        o.storeBytes(
            of: o.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self) + tail,
            toByteOffset: 32,
            as: SIMD4<Float>.self
        )
    }
}
