import TensorEngineAVX512

// Winograd F(2×2, 3×3) for stride-1, undilated, ungrouped 3×3 convolutions (Lavin and Gray, 2016).
//
// Each 2×2 output tile is Aᵀ[Σ_c U_kc ⊙ V_ct]A with U_kc = G·w[k,c]·Gᵀ (4×4, from the 3×3 filter)
// and V_ct = Bᵀ·d_ct·B (4×4, from the tile's 4×4 input patch d_ct): 16 multiply-adds per tile and
// channel pair where the direct kernel needs 36. For each of the 16 positions ξ of the 4×4
// transforms, the sum over c is a matrix product M_ξ (K × tiles) = U_ξ (K × C) · V_ξ (C × tiles),
// which runs on the direct kernel's register blocks (taps = input channels, positions = tiles).
//
// A block of work is a run of tile rows (of one image or several), laid out flat: tile j of the
// block's r-th tile row is tile r·S + j, S = tilesW, the count rounded up to whole register blocks.
// The input transform runs on SIMD8 vectors of 8 neighbouring tiles: each of a tile row's four input
// rows is staged once per channel (`winogradStage`) as four arrays, array k holding column 2t + k of
// tile t, so that the four columns of tiles t..t+7 are four plain vector loads. The output transform
// interleaves each tile's two columns again and stores whole output rows through the convolution's
// epilogue. The tiles past the block's rows that fill its last register block are computed and
// never stored.
//
// The transforms add and subtract (and halve, exactly) before and after the products, so results
// differ from the direct kernel's by rounding only: a few units in the last place of the sums.

/// B, G and A of F(2×2, 3×3):
/// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
/// Aᵀ = [1 1 1 0; 0 1 −1 −1].
struct WinogradPlan {
    var batch: Int
    var inChannels: Int
    var outChannels: Int
    var height: Int
    var width: Int
    var padTop: Int
    var padLeft: Int
    var padBottom: Int
    var padRight: Int
    var simd: SIMDLevel
    /// Side of an output tile: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3) (WinogradF4.swift).
    var tile: Int
    /// Tile rows per block of work.
    var rowsPerBlock: Int = 1

    init(_ g: Conv2DGeometry, tile: Int = 2, simd: SIMDLevel) {
        precondition(tile == 2 || tile == 4, "WinogradPlan: F(2×2, 3×3) or F(4×4, 3×3), not a tile of \(tile)")
        self.tile = tile
        batch = g.batch
        inChannels = g.inChannels
        outChannels = g.outChannels
        height = g.height
        width = g.width
        padTop = g.padTop
        padLeft = g.padLeft
        padBottom = g.padBottom
        padRight = g.padRight
        self.simd = simd
        // V and M (16 or 36 floats per tile and channel) within a budget, at least two blocks per
        // thread, and of those sizes the one whose rounding up to whole register blocks wastes the
        // fewest tiles. F(2×2): 320 KB (with 256 KB, S = 7 tiles per row at 14×14 filled 42 of 48 tiles,
        // with 320 KB 70 of 72: 32→32 ran 2.49–2.55 ms against 2.59–2.73; 384 KB ran it 20 % slower,
        // with junk tiles; EngineBench --only winograd, 2026-12-04). F(4×4): 768 KB; its 36 products per block each read a whole U_ξ,
        // so small blocks are dominated by the filters' traffic (at 256 KB 64→64 at 7×7 ran at 0.72×
        // the direct kernel's speed, at 768 KB 1.07×; 32→32 at 14×14 1.05× and 1.14×; EngineBench
        // --only winograd, 2026-12-04).
        let positions = simd == .avx512 ? directBlockPositions512 : Kernels.directBlockPositions
        let budget = tile == 4 ? 196_608 : 81_920  // floats
        let fitting = budget / (transformPoints * (inChannels + channelBlocks * 4)) / rowStride
        let most = max(1, min(fitting, tileRows / (2 * EngineThreads.count)))
        var best = (rows: 1, waste: Double.infinity)
        for rows in 1...most {
            let used = rows * rowStride
            let waste = Double((used + positions - 1) / positions * positions) / Double(used)
            if waste <= best.waste + 1e-9 { best = (rows, waste) }
        }
        rowsPerBlock = best.rows
    }

    var outH: Int { height + padTop + padBottom - 2 }
    var outW: Int { width + padLeft + padRight - 2 }
    var tilesH: Int { (outH + tile - 1) / tile }
    var tilesW: Int { (outW + tile - 1) / tile }
    /// Side of the transforms: 4 or 6.
    var alpha: Int { tile + 2 }
    /// Points of the transforms, and matrix products per block: 16 or 36.
    var transformPoints: Int { alpha * alpha }
    /// S: tiles per tile row in a block.
    var rowStride: Int { tilesW }
    /// Columns of an x row a tile row's staging reads: those left of column tile·S + 2 of its segment.
    var copiedColumns: Int { max(0, min(width, tile * rowStride + 2 - padLeft)) }
    /// Floats per line of the staging's line buffer: a segment's columns and the slack its vector
    /// loads read.
    var linePitch: Int { tile * rowStride + 64 }
    /// Floats of the line buffer: a line per input row of a block's tile rows.
    var lineCount: Int { rowsPerBlock * alpha * linePitch }
    /// Tile rows of the whole batch, image after image.
    var tileRows: Int { batch * tilesH }
    /// Tiles per block: rowsPerBlock·S rounded up to whole register blocks (and SIMD8 vectors).
    var blockTiles: Int {
        let positions = simd == .avx512 ? directBlockPositions512 : Kernels.directBlockPositions
        return (rowsPerBlock * rowStride + positions - 1) / positions * positions
    }
    var blocks: Int { (tileRows + rowsPerBlock - 1) / rowsPerBlock }
    var channelBlocks: Int { (outChannels + 3) / 4 }
    /// The block's tile rows: how many, and the tile row before its first as (image n, tile row i
    /// within it), which `advance` steps to the first.
    func rows(ofBlock block: Int) -> (count: Int, n: Int, i: Int) {
        let first = block * rowsPerBlock
        let n = first / tilesH
        return (min(rowsPerBlock, tileRows - first), n, first - n * tilesH - 1)
    }
    /// The tiles the block's tile rows use, in whole vectors of 8 (the output transforms' range).
    func usedTiles(ofBlock block: Int) -> Int {
        min(blockTiles, (rows(ofBlock: block).count * rowStride + 7) / 8 * 8)
    }
    /// Steps (image n, tile row i) to the batch's next tile row, without a division.
    @inline(__always)
    func advance(_ n: inout Int, _ i: inout Int) {
        i += 1
        if i == tilesH { (n, i) = (n + 1, 0) }
    }
    /// Floats per staged array of an input row (`Kernels.winogradStage`): one per tile and slack.
    var stagedPhase: Int { blockTiles + 16 }
    /// Floats of the staged input rows: alpha rows of alpha arrays.
    var stagedCount: Int { alpha * alpha * stagedPhase }
    /// Floats from V[ξ] (C × tiles) to V[ξ + 1], padded: ξ + 1 starts 64 bytes later in the cache's
    /// sets than ξ, so that the transforms' 16 or 36 streams do not collide in a few sets.
    var vPointStride: Int { Self.padded(inChannels * blockTiles) }
    /// Floats from M[ξ] (4·channelBlocks × tiles) to M[ξ + 1], padded likewise.
    var mPointStride: Int { Self.padded(channelBlocks * 4 * blockTiles) }
    static func padded(_ floats: Int) -> Int { (floats + 1023) / 1024 * 1024 + 16 }
    /// Floats of the transformed filters: (transformPoints, channelBlocks, C, 4).
    var filterCount: Int { transformPoints * channelBlocks * inChannels * 4 }
}
extension Conv2DGeometry {
    /// The Winograd kernel runs it: 3×3, stride 1, no dilation, one group.
    var winogradApplies: Bool {
        kernelHeight == 3 && kernelWidth == 3 && isUnitStride && dilationH == 1 && dilationW == 1 && groups == 1
    }

    /// The Winograd kernel runs its input gradient: as above, and its adjoint's padding 2 − pad ≥ 0.
    var winogradBackwardInputApplies: Bool {
        winogradApplies && padTop <= 2 && padLeft <= 2 && padBottom <= 2 && padRight <= 2
    }
}

extension Kernels {
    /// y = epilogue(conv(x, w) + bias) by Winograd F(tile×tile, 3×3), tile 2 or 4; `g.winogradApplies`
    /// must hold.
    static func conv2dWinograd(
        _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        tile: Int = 2,
        epilogue: ConvEpilogue = .none,
        simd: SIMDLevel = .active
    ) {
        precondition(g.winogradApplies, "conv2dWinograd: needs 3×3, stride 1, no dilation, one group")
        let plan = WinogradPlan(g, tile: tile, simd: simd)
        let key = WinogradFilterCache.Key(
            tile: tile,
            outChannels: g.outChannels,
            inChannels: g.inChannels,
            adjoint: false,
            lanes: plan.lanesApply
        )
        let filters = WinogradFilterCache.shared.filters(key, weights: w, count: g.weightCount) {
            tile == 4 ? winograd4Filters(w, plan) : winogradFilters(w, plan)
        }
        filters.withUnsafeBufferPointer { pu in
            guard let pu = pu.baseAddress else { return }
            if plan.lanesApply {
                winogradLanes(x, pu, bias, y, plan, epilogue: epilogue)
            } else {
                winogradConvolution(x, pu, bias, y, plan, epilogue: epilogue)
            }
        }
    }

    /// dx = conv2dᵀ(dy, w) by Winograd: the adjoint of a stride-1 3×3 convolution is one of dy with
    /// the kernel flipped and its channel axes swapped, padded by 2 − pad.
    static func conv2dWinogradBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        tile: Int = 2,
        simd: SIMDLevel = .active
    ) {
        precondition(g.winogradBackwardInputApplies, "conv2dWinogradBackwardInput: needs 3×3, stride 1, pad ≤ 2")
        let adjoint = g.unitStrideAdjoint("conv2dWinogradBackwardInput")
        let k = g.outChannels
        let c = g.inChannels
        let plan = WinogradPlan(adjoint, tile: tile, simd: simd)
        let key = WinogradFilterCache.Key(
            tile: tile,
            outChannels: k,
            inChannels: c,
            adjoint: true,
            lanes: plan.lanesApply
        )
        let filters = WinogradFilterCache.shared.filters(key, weights: w, count: g.weightCount) {
            // flipped[c][k][t] = w[k][c][8 − t].
            var flipped = [Float](repeating: 0, count: g.weightCount)
            for ki in 0..<k {
                for ci in 0..<c {
                    for t in 0..<9 { flipped[(ci * k + ki) * 9 + t] = w[(ki * c + ci) * 9 + 8 - t] }
                }
            }
            return flipped.withUnsafeBufferPointer { pw in
                pw.baseAddress.map { tile == 4 ? winograd4Filters($0, plan) : winogradFilters($0, plan) } ?? []
            }
        }
        filters.withUnsafeBufferPointer { pu in
            guard let pu = pu.baseAddress else { return }
            if plan.lanesApply {
                winogradLanes(dy, pu, nil, dx, plan, epilogue: .none)
            } else {
                winogradConvolution(dy, pu, nil, dx, plan)
            }
        }
    }

    /// U = G·w[k,c]·Gᵀ (4×4) for every filter, packed by `packWinogradFilters`.
    static func winogradFilters(_ w: UnsafePointer<Float>, _ plan: WinogradPlan) -> [Float] {
        packWinogradFilters(w, plan) { filters, count, out in
            for q in 0..<count {
                let f = filters + 9 * q
                let u = out + 16 * q
                // gg = G·f (rows of 3), then u = gg·Gᵀ: row r of u from row r of gg.
                func rowOfG(_ s: Int) -> (Float, Float, Float, Float) {
                    let (a0, a1, a2) = (f[s], f[3 + s], f[6 + s])
                    return (a0, (a0 + a1 + a2) * 0.5, (a0 - a1 + a2) * 0.5, a2)
                }
                let (col0, col1, col2) = (rowOfG(0), rowOfG(1), rowOfG(2))
                func store(_ r: Int, _ b0: Float, _ b1: Float, _ b2: Float) {
                    (u[4 * r], u[4 * r + 1]) = (b0, (b0 + b1 + b2) * 0.5)
                    (u[4 * r + 2], u[4 * r + 3]) = ((b0 - b1 + b2) * 0.5, b2)
                }
                store(0, col0.0, col1.0, col2.0)
                store(1, col0.1, col1.1, col2.1)
                store(2, col0.2, col1.2, col2.2)
                store(3, col0.3, col1.3, col2.3)
            }
        }
    }

    /// The transformed filters packed as (ξ, channel block, c, 4) with zeros past K. `transform` gets
    /// up to 4 consecutive 3×3 filters (of one output channel, 9 floats apart) and their count, and
    /// writes the transformPoints values of U for filter q at q·transformPoints of its last argument
    /// (ξ = alpha·row + column): four at a time, so that F(4×4)'s transforms run on 4-lane vectors.
    ///
    /// With `lanes` (the channel-lane kernel, WinogradLanes.swift) the layout is (ξ, C, K) instead.
    @inline(__always)
    static func packWinogradFilters(
        _ w: UnsafePointer<Float>,
        _ plan: WinogradPlan,
        lanes: Bool = false,
        _ transform: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        let cs = plan.inChannels
        let ks = plan.outChannels
        let points = plan.transformPoints
        let blockStride = plan.channelBlocks * cs * 4
        var packed = [Float](repeating: 0, count: lanes ? points * cs * ks : plan.filterCount)
        packed.withUnsafeMutableBufferPointer { pp in
            guard let pp = pp.baseAddress else { return }
            // In parallel over blocks of 4 output channels (disjoint entries): serial, the transforms
            // left the other core idle for 1–2 % of a forward pass. A block's transforms go to a
            // buffer first, then out point by point, each point's entries in one contiguous run:
            // stored filter by filter, a filter's points lie blockStride floats apart (16 KB at 64
            // channels), the same cache set, and the stores cost more than the transforms.
            parallelChunks(plan.channelBlocks, costPerItem: 4 * cs * points * 4) { blocks in
                // u[(q·C + c)·points + ξ]: filter (4·kb + q, c).
                let u = UnsafeMutablePointer<Float>.allocate(capacity: 4 * cs * points)
                defer { u.deallocate() }
                for kb in blocks {
                    let count = min(4, plan.outChannels - 4 * kb)
                    for q in 0..<count {
                        var c = 0
                        while c < cs {
                            let count = min(4, cs - c)
                            transform(w + ((4 * kb + q) * cs + c) * 9, count, u + (q * cs + c) * points)
                            c += count
                        }
                    }
                    for xi in 0..<points {
                        if lanes {
                            let run = pp + xi * cs * ks + 4 * kb
                            for c in 0..<cs {
                                for q in 0..<count { run[c * ks + q] = u[(q * cs + c) * points + xi] }
                            }
                        } else {
                            let run = pp + xi * blockStride + kb * cs * 4
                            for c in 0..<cs {
                                for q in 0..<count { run[4 * c + q] = u[(q * cs + c) * points + xi] }
                            }
                        }
                    }
                }
            }
        }
        return packed
    }

    /// y = epilogue(Σ Winograd products + bias), block of tile rows by block of tile rows.
    static func winogradConvolution(
        _ x: UnsafePointer<Float>,
        _ filters: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ plan: WinogradPlan,
        epilogue: ConvEpilogue = .none
    ) {
        let cs = plan.inChannels
        let ks = plan.outChannels
        let tiles = plan.blockTiles
        let offsets = (0..<cs).map { $0 * tiles }
        let points = plan.transformPoints
        let cost = points * (cs + ks) * tiles * 4
        let blocks = registerBlocks(plan.simd)
        offsets.withUnsafeBufferPointer { offsets in
            guard let offsets = offsets.baseAddress else { return }
            parallelChunks(plan.blocks, costPerItem: cost) { items in
                let vCount = points * plan.vPointStride
                let mCount = points * plan.mPointStride
                let v = UnsafeMutablePointer<Float>.allocate(capacity: vCount)
                let m = UnsafeMutablePointer<Float>.allocate(capacity: mCount)
                // Staged input rows; output rows (tile × tile floats per tile); F(4×4)'s transform scratch.
                let staged = UnsafeMutablePointer<Float>.allocate(capacity: plan.stagedCount)
                let line = UnsafeMutablePointer<Float>.allocate(capacity: plan.lineCount)
                let rows = UnsafeMutablePointer<Float>.allocate(capacity: plan.tile * plan.tile * tiles)
                let scratch = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 36)
                // V and M are not cleared: each block writes every entry it reads (all tiles of V[ξ]'s C
                // rows, all tiles of M[ξ]'s 4·channelBlocks rows) before reading it.
                staged.initialize(repeating: 0, count: plan.stagedCount)
                line.initialize(repeating: 0, count: plan.lineCount)
                defer {
                    v.deallocate()
                    m.deallocate()
                    staged.deallocate()
                    line.deallocate()
                    rows.deallocate()
                    scratch.deallocate()
                }
                for block in items {
                    if plan.tile == 4 {
                        winograd4InputTransform(x, block: block, plan, line, staged, scratch, v)
                    } else {
                        winogradInputTransform(x, block: block, plan, line, staged, v)
                    }
                    for xi in 0..<points {
                        let vx = v + xi * plan.vPointStride
                        let ux = filters + xi * plan.channelBlocks * cs * 4
                        let mx = m + xi * plan.mPointStride
                        blocks(vx, offsets, cs, ux, plan.channelBlocks, mx, tiles, 0, tiles)
                    }
                    if plan.tile == 4 {
                        winograd4OutputTransform(m, block: block, plan, bias, y, rows, scratch, epilogue: epilogue)
                    } else {
                        winogradOutputTransform(m, block: block, plan, bias, y, rows, epilogue: epilogue)
                    }
                }
            }
        }
    }

    /// V[ξ][c][t] = (Bᵀ·d·B)[ξ] for the tiles t of one block.
    static func winogradInputTransform(
        _ x: UnsafePointer<Float>,
        block: Int,
        _ plan: WinogradPlan,
        _ line: UnsafeMutablePointer<Float>,
        _ staged: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>
    ) {
        let cs = plan.inChannels
        let tiles = plan.blockTiles
        let phaseBytes = 4 * plan.stagedPhase
        let xiStride = plan.vPointStride
        for c in 0..<cs {
            winogradStage(x, channel: c, block: block, plan, line, staged)
            // Transform: d[rr][k] of tiles t..t+7 is array k of input row rr at t. Row rr of d·B is
            // (d0 − d2, d1 + d2, d2 − d1, d1 − d3), then Bᵀ on the rows, ordered so that two rows of
            // d·B are live at a time; V[4a + b] lies `xiStride` floats after V[4a + b − 1].
            let out = v + c * tiles
            let rowArrays = 4 * plan.stagedPhase  // floats from input row rr's arrays to rr + 1's
            var t = 0
            while t < tiles {
                let t2 = winogradRowOfDB(staged + 2 * rowArrays + t, phaseBytes)
                let t0 = winogradRowOfDB(staged + t, phaseBytes)
                var at = out + t
                winogradStore(&at, xiStride, t0.0 - t2.0, t0.1 - t2.1, t0.2 - t2.2, t0.3 - t2.3)
                let t1 = winogradRowOfDB(staged + rowArrays + t, phaseBytes)
                winogradStore(&at, xiStride, t1.0 + t2.0, t1.1 + t2.1, t1.2 + t2.2, t1.3 + t2.3)
                winogradStore(&at, xiStride, t2.0 - t1.0, t2.1 - t1.1, t2.2 - t1.2, t2.3 - t1.3)
                let t3 = winogradRowOfDB(staged + 3 * rowArrays + t, phaseBytes)
                winogradStore(&at, xiStride, t1.0 - t3.0, t1.1 - t3.1, t1.2 - t3.2, t1.3 - t3.3)
                t += 8
            }
        }
    }

    /// Stages channel `c` of one block's input rows: for input row rr (0 ..< alpha) of the block's
    /// r-th tile row, array k (at `staged` + (alpha·rr + k)·stagedPhase) holds at r·S + j column
    /// tile·j + k of the tile row's segment, j < S, whose column s is x's column s − padLeft (zero
    /// outside x). So the alpha columns a tile reads are alpha plain vector loads for 8 tiles, and no
    /// tile row reads into the next one's entries.
    static func winogradStage(
        _ x: UnsafePointer<Float>,
        channel c: Int,
        block: Int,
        _ plan: WinogradPlan,
        _ lines: UnsafeMutablePointer<Float>,
        _ staged: UnsafeMutablePointer<Float>
    ) {
        let plane = plan.height * plan.width
        let tile = plan.tile
        let alpha = plan.alpha
        let phase = plan.stagedPhase
        let segment = plan.rowStride
        let copied = plan.copiedColumns
        let pitch = plan.linePitch
        let (rowCount, n0, i0) = plan.rows(ofBlock: block)
        // First every line (x's row at padLeft, zeros around it, written once), then the arrays: read
        // right after their copy, the lines' vector loads stalled on store forwarding.
        var (n, i) = (n0, i0)
        for r in 0..<rowCount {
            plan.advance(&n, &i)
            let image = x + (n * plan.inChannels + c) * plane
            for rr in 0..<alpha {
                let h = tile * i - plan.padTop + rr
                let to = lines + (r * alpha + rr) * pitch + plan.padLeft
                if h >= 0 && h < plan.height {
                    copyRow(image + h * plan.width, to, count: copied)
                } else {
                    zeroRow(to, count: copied)
                }
            }
        }
        for r in 0..<rowCount {
            for rr in 0..<alpha {
                let line = lines + (r * alpha + rr) * pitch
                // Whole vectors of 8 tiles; the last may write past the tile row's S entries, into the
                // next tile row's (staged after it) or the block's slack.
                let out = UnsafeMutableRawPointer(staged + alpha * rr * phase + r * segment)
                let phaseBytes = 4 * phase
                var j = 0
                if tile == 2 {
                    while j < segment {
                        let a = UnsafeRawPointer(line + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
                        let b = UnsafeRawPointer(line + 2 * j + 2).loadUnaligned(as: SIMD16<Float>.self)
                        let at = out + 4 * j
                        at.storeBytes(of: a.evenHalf, as: SIMD8<Float>.self)
                        at.storeBytes(of: a.oddHalf, toByteOffset: phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: b.evenHalf, toByteOffset: 2 * phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: b.oddHalf, toByteOffset: 3 * phaseBytes, as: SIMD8<Float>.self)
                        j += 8
                    }
                } else {
                    while j < segment {
                        let p = UnsafeRawPointer(line + 4 * j)
                        let a = SIMD32(
                            lowHalf: p.loadUnaligned(as: SIMD16<Float>.self),
                            highHalf: p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                        )
                        let b = SIMD32(
                            lowHalf: p.loadUnaligned(fromByteOffset: 16, as: SIMD16<Float>.self),
                            highHalf: p.loadUnaligned(fromByteOffset: 80, as: SIMD16<Float>.self)
                        )
                        let (even, odd) = (a.evenHalf, a.oddHalf)
                        let at = out + 4 * j
                        at.storeBytes(of: even.evenHalf, as: SIMD8<Float>.self)
                        at.storeBytes(of: odd.evenHalf, toByteOffset: phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: even.oddHalf, toByteOffset: 2 * phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: odd.oddHalf, toByteOffset: 3 * phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: b.evenHalf.evenHalf, toByteOffset: 4 * phaseBytes, as: SIMD8<Float>.self)
                        at.storeBytes(of: b.oddHalf.evenHalf, toByteOffset: 5 * phaseBytes, as: SIMD8<Float>.self)
                        j += 8
                    }
                }
            }
        }
    }

    /// A row of d·B for 8 tiles from the four staged arrays at `p`, `phaseBytes` apart:
    /// (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
    @inline(__always)
    static func winogradRowOfDB(
        _ p: UnsafeMutablePointer<Float>,
        _ phaseBytes: Int
    ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let raw = UnsafeRawPointer(p)
        let d0 = raw.loadUnaligned(as: SIMD8<Float>.self)
        let d1 = raw.loadUnaligned(fromByteOffset: phaseBytes, as: SIMD8<Float>.self)
        let d2 = raw.loadUnaligned(fromByteOffset: 2 * phaseBytes, as: SIMD8<Float>.self)
        let d3 = raw.loadUnaligned(fromByteOffset: 3 * phaseBytes, as: SIMD8<Float>.self)
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
    }

    /// Aᵀ on one column of M for 8 tiles: (m0 + m1 + m2, m1 − m2 − m3), m_a read 4·a·step floats on.
    @inline(__always)
    static func winogradRowsOfA(_ at: UnsafePointer<Float>, _ step: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        let p = UnsafeRawPointer(at)
        let m0 = p.loadUnaligned(as: SIMD8<Float>.self)
        let m1 = p.loadUnaligned(fromByteOffset: 16 * step, as: SIMD8<Float>.self)
        let m2 = p.loadUnaligned(fromByteOffset: 32 * step, as: SIMD8<Float>.self)
        let m3 = p.loadUnaligned(fromByteOffset: 48 * step, as: SIMD8<Float>.self)
        return (m0 + m1 + m2, m1 - m2 - m3)
    }

    /// Stores four vectors `stride` floats apart from `at`, leaving `at` after the last.
    @inline(__always)
    static func winogradStore(
        _ at: inout UnsafeMutablePointer<Float>,
        _ stride: Int,
        _ a: SIMD8<Float>,
        _ b: SIMD8<Float>,
        _ c: SIMD8<Float>,
        _ d: SIMD8<Float>
    ) {
        UnsafeMutableRawPointer(at).storeBytes(of: a, as: SIMD8<Float>.self)
        at += stride
        UnsafeMutableRawPointer(at).storeBytes(of: b, as: SIMD8<Float>.self)
        at += stride
        UnsafeMutableRawPointer(at).storeBytes(of: c, as: SIMD8<Float>.self)
        at += stride
        UnsafeMutableRawPointer(at).storeBytes(of: d, as: SIMD8<Float>.self)
        at += stride
    }

    /// y rows of one block's tiles: Aᵀ·M·A for each tile and output channel, stored through the epilogue.
    static func winogradOutputTransform(
        _ m: UnsafePointer<Float>,
        block: Int,
        _ plan: WinogradPlan,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ rows: UnsafeMutablePointer<Float>,
        epilogue: ConvEpilogue
    ) {
        typealias V8 = SIMD8<Float>
        let tiles = plan.blockTiles
        let step = plan.mPointStride
        let used = plan.usedTiles(ofBlock: block)
        let tileRows = plan.rows(ofBlock: block)
        for k in 0..<plan.outChannels {
            let src = m + k * tiles
            var t = 0
            while t < used {
                // Aᵀ on the rows of M, column by column.
                let at = src + t
                let (s00, s10) = winogradRowsOfA(at, step)
                let (s01, s11) = winogradRowsOfA(at + step, step)
                let (s02, s12) = winogradRowsOfA(at + 2 * step, step)
                let (s03, s13) = winogradRowsOfA(at + 3 * step, step)
                // ·A on the columns: outputs (0, 0), (0, 1) of row 0 and (1, 0), (1, 1) of row 1.
                let y00 = s00 + s01 + s02
                let y01 = s01 - s02 - s03
                let y10 = s10 + s11 + s12
                let y11 = s11 - s12 - s13
                UnsafeMutableRawPointer(rows + 2 * t).storeBytes(of: interleave(y00, y01), as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(rows + 2 * tiles + 2 * t).storeBytes(
                    of: interleave(y10, y11),
                    as: SIMD16<Float>.self
                )
                t += 8
            }
            winogradStoreRows(rows, channel: k, tileRows: tileRows, plan, bias, y, epilogue: epilogue)
        }
    }

    /// Stores output channel k of one block's tile rows from `rows` (output row a of the block's r-th
    /// tile row at a·tile·blockTiles + tile·r·S) through the epilogue; `tileRows` is the block's
    /// `plan.rows(ofBlock:)`, computed once per block rather than once per channel (a division).
    @inline(__always)
    static func winogradStoreRows(
        _ rows: UnsafePointer<Float>,
        channel k: Int,
        tileRows: (count: Int, n: Int, i: Int),
        _ plan: WinogradPlan,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        epilogue: ConvEpilogue
    ) {
        let tile = plan.tile
        let outPlane = plan.outH * plan.outW
        var (n, i) = (tileRows.n, tileRows.i)
        for r in 0..<tileRows.count {
            plan.advance(&n, &i)
            for a in 0..<tile {
                let oh = tile * i + a
                if oh >= plan.outH { break }
                let offset = (n * plan.outChannels + k) * outPlane + oh * plan.outW
                epilogue.store(
                    rows + a * tile * plan.blockTiles + tile * r * plan.rowStride,
                    bias: bias?[k] ?? 0,
                    y + offset,
                    offset: offset,
                    count: plan.outW
                )
            }
        }
    }

    /// (a0, b0, a1, b1, …, a7, b7).
    @inline(__always)
    static func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
        SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }
}
