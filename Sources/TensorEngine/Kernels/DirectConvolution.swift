import TensorEngineAVX512

// Direct stride-1 convolution on a flat grid of stacked, padded images.
//
// A chunk of images is laid out per channel as one tall zero-padded plane with rows of length
// L = max(W + max(padLeft, padRight), Wo) and rph = max(H + max(padTop, padBottom), Ho) rows per
// image: x[n,c,h,w] sits at row n·rph + padTop + h, column padLeft + w, so neighbouring images (and
// neighbouring rows) share their zero padding. Output (n, oh, ow) is flat position
// P = (n·rph + oh)·L + ow and takes tap (c,r,s) from P + offset(c,r,s), so for a run of consecutive
// P every tap is one contiguous vector. Positions with oh ≥ Ho or ow ≥ Wo (and those past the chunk,
// rounded up to the register block) are junk, dropped when results are copied out.

/// A stride-1 convolution as the direct kernels see it: x is (N, G·inPerGroup, H, W), y is
/// (N, G·outPerGroup, Ho, Wo); forward weights are packed as (G, ⌈outPerGroup/4⌉, inPerGroup·R·S, 4).
struct DirectConvPlan {
    var batch: Int
    var groups: Int
    var inPerGroup: Int
    var outPerGroup: Int
    var height: Int
    var width: Int
    var kernelH: Int
    var kernelW: Int
    var dilationH: Int
    var dilationW: Int
    var padTop: Int
    var padLeft: Int
    var padBottom: Int
    var padRight: Int
    /// Images per chunk.
    var chunk: Int = 1
    /// The register blocks' vector width: AVX-512 (48 positions per block) or AVX2 (24).
    var simd: SIMDLevel
    /// Set for a stride-2 convolution run as a stride-1 one on the input's four polyphase planes
    /// (see `DirectConvPlan.phases`); the fields above then describe the planes' grid.
    var source: PolyphaseSource?

    /// Output positions per register block: 3 vectors.
    var blockPositions: Int { simd == .avx512 ? directBlockPositions512 : Kernels.directBlockPositions }

    init(
        batch: Int,
        groups: Int,
        inPerGroup: Int,
        outPerGroup: Int,
        height: Int,
        width: Int,
        kernelH: Int,
        kernelW: Int,
        dilationH: Int,
        dilationW: Int,
        padTop: Int,
        padLeft: Int,
        padBottom: Int,
        padRight: Int,
        targetPositions: Int,
        simd: SIMDLevel = .active
    ) {
        self.simd = simd
        self.batch = batch
        self.groups = groups
        self.inPerGroup = inPerGroup
        self.outPerGroup = outPerGroup
        self.height = height
        self.width = width
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        chunk = max(1, min(batch, targetPositions / (rowsPerImage * rowLength)))
    }

    init(_ g: Conv2DGeometry, targetPositions: Int, simd: SIMDLevel = .active) {
        self.init(
            batch: g.batch,
            groups: g.groups,
            inPerGroup: g.inPerGroup,
            outPerGroup: g.outPerGroup,
            height: g.height,
            width: g.width,
            kernelH: g.kernelHeight,
            kernelW: g.kernelWidth,
            dilationH: g.dilationH,
            dilationW: g.dilationW,
            padTop: g.padTop,
            padLeft: g.padLeft,
            padBottom: g.padBottom,
            padRight: g.padRight,
            targetPositions: targetPositions,
            simd: simd
        )
    }

    var outH: Int { height + padTop + padBottom - dilationH * (kernelH - 1) }
    var outW: Int { width + padLeft + padRight - dilationW * (kernelW - 1) }
    /// rph: rows per image in the stacked grid.
    var rowsPerImage: Int { max(height + max(padTop, padBottom), outH) }
    /// L: the row length of the stacked grid.
    var rowLength: Int { max(width + max(padLeft, padRight), outW) }
    var chunks: Int { (batch + chunk - 1) / chunk }
    /// Flat positions of a chunk: chunk·rph·L.
    var flatCount: Int { chunk * rowsPerImage * rowLength }
    var positionBlocks: Int { (flatCount + blockPositions - 1) / blockPositions }
    var flatRounded: Int { positionBlocks * blockPositions }
    /// Output channel blocks of 4 per group.
    var channelBlocks: Int { (outPerGroup + 3) / 4 }
    /// The taps each output sums over: inPerGroup·R·S, or the source's C/G·R·S on polyphase planes.
    var taps: Int { source.map { $0.channels * $0.kernelH * $0.kernelW } ?? inPerGroup * kernelH * kernelW }
    var packedCount: Int { groups * channelBlocks * taps * 4 }
    /// Floats per channel of the stacked input, with room for the junk reads of the last block.
    var channelStride: Int { flatRounded + dilationH * (kernelH - 1) * rowLength + dilationW * (kernelW - 1) }
    /// offsets[c·R·S + r·S + s]: where tap (c,r,s) reads, relative to the output position.
    var tapOffsets: [Int] {
        if let source { return source.tapOffsets(self) }
        var offsets = [Int](repeating: 0, count: taps)
        for c in 0..<inPerGroup {
            for r in 0..<kernelH {
                for s in 0..<kernelW {
                    offsets[(c * kernelH + r) * kernelW + s] =
                        c * channelStride + r * dilationH * rowLength + s * dilationW
                }
            }
        }
        return offsets
    }

    /// Copies images [n0, n0 + count) of group `gi` of x (N,C,H,W) into the stacked grid `xpad`
    /// ((inPerGroup, channelStride), whose padding is zero and stays zero).
    func loadInput(
        _ x: UnsafePointer<Float>,
        images n0: Int,
        count: Int,
        group gi: Int,
        _ xpad: UnsafeMutablePointer<Float>
    ) {
        if let source {
            source.loadPhases(x, images: n0, count: count, group: gi, xpad, self)
            return
        }
        let plane = height * width
        for c in 0..<inPerGroup {
            for n in 0..<count {
                let src = x + ((n0 + n) * groups * inPerGroup + gi * inPerGroup + c) * plane
                let dst = xpad + c * channelStride + (n * rowsPerImage + padTop) * rowLength + padLeft
                for h in 0..<height { copyRow(src + h * width, dst + h * rowLength, count: width) }
            }
        }
    }

    /// The kept output positions of flat range [p0, p1) of a chunk starting at image n0: calls
    /// `body(image, oh, ow0, ow1, p)` for each run of one output row, p being the flat position of ow0.
    func forEachOutputRun(_ p0: Int, _ p1: Int, n0: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        var p = p0
        let end = min(p1, flatCount)
        while p < end {
            let t = p / rowLength
            let ow0 = p - t * rowLength
            let rowEnd = min((t + 1) * rowLength, end)
            let n = t / rowsPerImage
            let oh = t - n * rowsPerImage
            let ow1 = min(rowEnd - t * rowLength, outW)
            if n0 + n < batch && oh < outH && ow0 < ow1 { body(n0 + n, oh, ow0, ow1, p) }
            p = rowEnd
        }
    }
}

extension DirectConvPlan {
    /// The plan of the forward and filter-gradient kernels: stride 1, or stride 2 on polyphase planes
    /// (half the positions per chunk: four planes per input channel).
    static func forwardOrFilter(_ g: Conv2DGeometry, targetPositions: Int, simd: SIMDLevel) -> DirectConvPlan {
        if g.isUnitStride { return DirectConvPlan(g, targetPositions: targetPositions, simd: simd) }
        guard let plan = PolyphaseSource.plan(g, targetPositions: targetPositions / 2, simd: simd) else {
            preconditionFailure("direct convolution: stride (\(g.strideH), \(g.strideW)) has no polyphase plan")
        }
        return plan
    }
}

extension Kernels {
    /// Positions per chunk for the forward kernel: a few thousand keep the stacked input in L2.
    static let directForwardPositions = 2048
    /// Positions per chunk for the filter gradient, whose blocks end each chunk with horizontal sums.
    static let directFilterPositions = 4096

    static func conv2dDirect(
        _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        epilogue: ConvEpilogue = .none,
        simd: SIMDLevel = .active
    ) {
        let plan = DirectConvPlan.forwardOrFilter(g, targetPositions: directForwardPositions, simd: simd)
        let kg = g.outPerGroup
        let cg = g.inPerGroup
        let rs = g.kernelHeight * g.kernelWidth
        // packed[gi][kb][c·R·S + tap][j] = w[gi·K/G + 4·kb + j][c][tap], zero past K/G.
        var packed = [Float](repeating: 0, count: plan.packedCount)
        packed.withUnsafeMutableBufferPointer { pp in
            for gi in 0..<g.groups {
                for k in 0..<kg {
                    let dst = (gi * plan.channelBlocks + k / 4) * plan.taps * 4 + k % 4
                    let src = (gi * kg + k) * cg * rs
                    for t in 0..<cg * rs { pp[dst + t * 4] = w[src + t] }
                }
            }
        }
        packed.withUnsafeBufferPointer { pp in
            guard let pw = pp.baseAddress else { return }
            directConvolution(x, pw, bias, y, plan, epilogue: epilogue)
        }
    }

    /// The adjoint of a stride-1 convolution is a stride-1 convolution of dy with the kernel flipped
    /// and its channel axes swapped, padded by dilation·(R−1) − pad (needs pad ≤ dilation·(R−1)).
    static func conv2dDirectBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        simd: SIMDLevel = .active
    ) {
        let plan = DirectConvPlan(
            g.unitStrideAdjoint("conv2dBackwardInput"),
            targetPositions: directForwardPositions,
            simd: simd
        )
        let kg = g.outPerGroup
        let cg = g.inPerGroup
        let rs = g.kernelHeight * g.kernelWidth
        // packed[gi][cb][k·R·S + r'·S + s'][j] = w[gi·K/G + k][4·cb + j][R−1−r'][S−1−s'].
        var packed = [Float](repeating: 0, count: plan.packedCount)
        packed.withUnsafeMutableBufferPointer { pp in
            for gi in 0..<g.groups {
                for c in 0..<cg {
                    let dst = (gi * plan.channelBlocks + c / 4) * plan.taps * 4 + c % 4
                    for k in 0..<kg {
                        let src = ((gi * kg + k) * cg + c) * rs
                        for t in 0..<rs { pp[dst + (k * rs + t) * 4] = w[src + rs - 1 - t] }
                    }
                }
            }
        }
        packed.withUnsafeBufferPointer { pp in
            guard let pw = pp.baseAddress else { return }
            directConvolution(dy, pw, nil, dx, plan)
        }
    }

    /// The sub-convolution of one polyphase plane of a stride-2 convolution's input: plane (a, b)
    /// (x's rows of parity a, columns of parity b) reaches y through the taps of those parities only,
    /// as a stride-1 convolution with that sub-filter. Nil when the plane has no taps or the stride-1
    /// adjoint would need a padding the direct kernel does not take.
    static func polyphasePlane(
        _ g: Conv2DGeometry,
        _ a: Int,
        _ b: Int
    ) -> (g: Conv2DGeometry, rows: [Int], columns: [Int])? {
        let rows = (0..<g.kernelHeight).filter { PolyphaseSource.floorMod2($0 - g.padTop) == a }
        let columns = (0..<g.kernelWidth).filter { PolyphaseSource.floorMod2($0 - g.padLeft) == b }
        let planeH = (g.height - a + 1) / 2
        let planeW = (g.width - b + 1) / 2
        guard let r0 = rows.first, let s0 = columns.first, planeH > 0, planeW > 0 else { return nil }
        // Tap r reads plane row oh + (r − padTop − a)/2: consecutive for the taps of one parity.
        let lowR = (r0 - g.padTop - a) / 2
        let lowS = (s0 - g.padLeft - b) / 2
        let highR = lowR + rows.count - 1
        let highS = lowS + columns.count - 1
        let sub = Conv2DGeometry(
            batch: g.batch,
            inChannels: g.inChannels,
            height: planeH,
            width: planeW,
            outChannels: g.outChannels,
            kernelHeight: rows.count,
            kernelWidth: columns.count,
            strideH: 1,
            strideW: 1,
            dilationH: 1,
            dilationW: 1,
            padTop: -lowR,
            padLeft: -lowS,
            padBottom: g.outHeight + highR - planeH,
            padRight: g.outWidth + highS - planeW,
            groups: g.groups
        )
        let fits =
            sub.padTop >= 0 && sub.padLeft >= 0 && sub.padBottom >= 0 && sub.padRight >= 0
            && sub.padTop <= rows.count - 1 && sub.padBottom <= rows.count - 1
            && sub.padLeft <= columns.count - 1 && sub.padRight <= columns.count - 1
            && sub.outHeight == g.outHeight && sub.outWidth == g.outWidth
        return fits ? (sub, rows, columns) : nil
    }

    /// Whether `conv2dPolyphaseBackwardInput` runs `g`: stride 2, dilation 1, and every plane either
    /// without taps or with a sub-convolution the direct adjoint takes.
    static func polyphaseBackwardInputApplies(_ g: Conv2DGeometry) -> Bool {
        guard g.strideH == 2, g.strideW == 2, g.dilationH == 1, g.dilationW == 1 else { return false }
        for a in 0..<2 {
            for b in 0..<2 {
                let hasTaps =
                    (0..<g.kernelHeight).contains { PolyphaseSource.floorMod2($0 - g.padTop) == a }
                    && (0..<g.kernelWidth).contains { PolyphaseSource.floorMod2($0 - g.padLeft) == b }
                    && (g.height - a + 1) / 2 > 0 && (g.width - b + 1) / 2 > 0
                if hasTaps && polyphasePlane(g, a, b) == nil { return false }
            }
        }
        return true
    }

    /// The adjoint of a stride-2 convolution by polyphase planes: each plane of dx (its rows and
    /// columns of one parity) is the stride-1 adjoint (the direct kernel) of its sub-convolution;
    /// then one pass writes dx row by row, interleaving the two planes of the row's parity (a plane
    /// no tap reads gives zeros). Written whole, dx needs no clearing first (a serial clear and four
    /// strided scatters cost about 1 % of a ResNet-20 training step).
    static func conv2dPolyphaseBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        simd: SIMDLevel
    ) {
        let cg = g.inPerGroup
        let rs = g.kernelHeight * g.kernelWidth
        // planes[2a + b]: (N, C, ⌈(H − a)/2⌉, ⌈(W − b)/2⌉), nil where no tap reads the plane.
        var planes = [[Float]?](repeating: nil, count: 4)
        for a in 0..<2 {
            for b in 0..<2 {
                guard let (sub, rows, columns) = polyphasePlane(g, a, b) else { continue }
                var wsub = [Float](repeating: 0, count: sub.weightCount)
                for k in 0..<g.outChannels {
                    for c in 0..<cg {
                        for (m, r) in rows.enumerated() {
                            for (n, s) in columns.enumerated() {
                                wsub[((k * cg + c) * rows.count + m) * columns.count + n] =
                                    w[(k * cg + c) * rs + r * g.kernelWidth + s]
                            }
                        }
                    }
                }
                planes[2 * a + b] = [Float](unsafeUninitializedCapacity: sub.inputCount) { out, initialized in
                    wsub.withUnsafeBufferPointer { pw in
                        guard let pw = pw.baseAddress, let po = out.baseAddress else { return }
                        conv2dDirectBackwardInput(dy, pw, po, sub, simd: simd)
                    }
                    initialized = sub.inputCount
                }
            }
        }
        let full = g.height * g.width
        let widths = [(g.width + 1) / 2, g.width / 2]
        let heights = [(g.height + 1) / 2, g.height / 2]
        withOptionalBuffer(planes[0]) { p00 in
            withOptionalBuffer(planes[1]) { p01 in
                withOptionalBuffer(planes[2]) { p10 in
                    withOptionalBuffer(planes[3]) { p11 in
                        let sources = [p00, p01, p10, p11].map { $0?.baseAddress }
                        parallelChunks(g.batch * g.inChannels, costPerItem: full) { range in
                            for nc in range {
                                for h in 0..<g.height {
                                    let (a, i) = (h % 2, h / 2)
                                    // Row i of the even- and odd-column planes of parity a.
                                    let even = sources[2 * a].map { $0 + (nc * heights[a] + i) * widths[0] }
                                    let odd = sources[2 * a + 1].map { $0 + (nc * heights[a] + i) * widths[1] }
                                    interleaveRow(even, odd, dx + nc * full + h * g.width, count: g.width)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// to[2j] = even[j], to[2j + 1] = odd[j] for 2j, 2j + 1 < count; a missing row reads as zeros.
    @inline(__always)
    static func interleaveRow(
        _ even: UnsafePointer<Float>?,
        _ odd: UnsafePointer<Float>?,
        _ to: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        var j = 0
        if let even, let odd {
            while 2 * j + 16 <= count {
                let e = UnsafeRawPointer(even + j).loadUnaligned(as: SIMD8<Float>.self)
                let o = UnsafeRawPointer(odd + j).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(to + 2 * j).storeBytes(of: interleave(e, o), as: SIMD16<Float>.self)
                j += 8
            }
        }
        while 2 * j < count {
            to[2 * j] = even?[j] ?? 0
            if 2 * j + 1 < count { to[2 * j + 1] = odd?[j] ?? 0 }
            j += 1
        }
    }

    /// y = epilogue(conv(x, packed) + bias). Work items are (chunk of images, group, run of position
    /// blocks); each thread keeps one stacked copy of a chunk's group planes and one result buffer.
    static func directConvolution(
        _ x: UnsafePointer<Float>,
        _ packed: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ plan: DirectConvPlan,
        epilogue: ConvEpilogue = .none
    ) {
        let loads = plan.chunks * plan.groups
        let splits = min(plan.positionBlocks, max(1, (EngineThreads.count * 2 + loads - 1) / loads))
        let blocksPerSplit = (plan.positionBlocks + splits - 1) / splits
        let outPlane = plan.outH * plan.outW
        let outChannels = plan.groups * plan.outPerGroup
        let cost = plan.taps * plan.channelBlocks * blocksPerSplit * 96
        let offsets = plan.tapOffsets
        let blocks = registerBlocks(plan.simd)
        offsets.withUnsafeBufferPointer { offsets in
            guard let offsets = offsets.baseAddress else { return }
            parallelChunks(loads * splits, costPerItem: cost) { items in
                let padCount = plan.inPerGroup * plan.channelStride
                let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padCount)
                xpad.initialize(repeating: 0, count: padCount)
                let ybuf = UnsafeMutablePointer<Float>.allocate(capacity: plan.channelBlocks * 4 * plan.flatRounded)
                defer {
                    xpad.deallocate()
                    ybuf.deallocate()
                }
                var loaded = -1
                for item in items {
                    let load = item / splits  // chunk·G + gi
                    let gi = load % plan.groups
                    let n0 = (load / plan.groups) * plan.chunk
                    if loaded != load {
                        let count = min(plan.chunk, plan.batch - n0)
                        plan.loadInput(x, images: n0, count: count, group: gi, xpad)
                        loaded = load
                    }
                    let part = item % splits
                    let firstBlock = part * blocksPerSplit
                    let lastBlock = min(plan.positionBlocks, firstBlock + blocksPerSplit)
                    if firstBlock >= lastBlock { continue }
                    blocks(
                        xpad,
                        offsets,
                        plan.taps,
                        packed + gi * plan.channelBlocks * plan.taps * 4,
                        plan.channelBlocks,
                        ybuf,
                        plan.flatRounded,
                        firstBlock * plan.blockPositions,
                        lastBlock * plan.blockPositions
                    )
                    // Copy the kept positions of [firstBlock, lastBlock) out through the epilogue.
                    plan.forEachOutputRun(
                        firstBlock * plan.blockPositions,
                        lastBlock * plan.blockPositions,
                        n0: n0
                    ) { n, oh, ow0, ow1, p in
                        for k in 0..<plan.outPerGroup {
                            let channel = gi * plan.outPerGroup + k
                            let row = (n * outChannels + channel) * outPlane + oh * plan.outW + ow0
                            epilogue.store(
                                ybuf + k * plan.flatRounded + p,
                                bias: bias?[channel] ?? 0,
                                y + row,
                                offset: row,
                                count: ow1 - ow0
                            )
                        }
                    }
                }
            }
        }
    }

    /// Output positions per AVX2 register block: 3 SIMD8 vectors.
    public static let directBlockPositions = 24

    /// The arguments of `directBlocks` and TensorEngineAVX512's `directBlocks512`: x, offsets, taps,
    /// packed, channelBlocks, out, rowStride, firstPosition, lastPosition.
    public typealias RegisterBlocks =
        @Sendable (
            UnsafePointer<Float>, UnsafePointer<Int>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int,
            Int, Int
        ) -> Void

    /// The register blocks of `simd`: AVX-512's (48 positions a block) or AVX2's (24).
    public static func registerBlocks(_ simd: SIMDLevel) -> RegisterBlocks {
        if simd == .avx512 { return directBlocks512(_:_:taps:_:channelBlocks:_:rowStride:firstPosition:lastPosition:) }
        return directBlocks(_:_:taps:_:channelBlocks:_:rowStride:firstPosition:lastPosition:)
    }

    /// The AVX2 register blocks of positions [firstPosition, lastPosition) (a multiple of 24 apart)
    /// for every block of 4 output channels: the twin of TensorEngineAVX512's directBlocks512, with
    /// its arguments (public for EngineBench's in-cache figures).
    ///
    /// - x: the stacked input grid of one group (read at p + offsets[t], up to 23 floats beyond).
    /// - offsets: `taps` read offsets relative to the output position.
    /// - packed: (channelBlocks, taps, 4) weights of the group.
    /// - out: row 0 of the results, one row of `rowStride` floats per output channel.
    public static func directBlocks(
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
                directMicroKernel(
                    x + p,
                    offsets,
                    taps,
                    packed + kb * taps * 4,
                    out + kb * 4 * rowStride + p,
                    rowStride: rowStride
                )
            }
            p += directBlockPositions
        }
    }

    /// out[j][0..<24] = Σ_t w[t][j] · x[offsets[t] + 0..<24] for j in 0..<4: 4 output channels ×
    /// 24 positions in 12 SIMD8 accumulators. `x` points at the block's first position, `w` at the
    /// block's packed taps, `out` at row 0 of the result (rows `rowStride` apart).
    @inline(__always)
    static func directMicroKernel(
        _ x: UnsafePointer<Float>,
        _ offsets: UnsafePointer<Int>,
        _ taps: Int,
        _ w: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>,
        rowStride: Int
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
        var wp = w
        for t in 0..<taps {
            let xs = UnsafeRawPointer(x + offsets[t])
            let v0 = xs.loadUnaligned(as: V.self)
            let v1 = xs.loadUnaligned(fromByteOffset: 32, as: V.self)
            let v2 = xs.loadUnaligned(fromByteOffset: 64, as: V.self)
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
        o0.storeBytes(of: a01, toByteOffset: 32, as: V.self)
        o0.storeBytes(of: a02, toByteOffset: 64, as: V.self)
        let o1 = UnsafeMutableRawPointer(out + rowStride)
        o1.storeBytes(of: a10, toByteOffset: 0, as: V.self)
        o1.storeBytes(of: a11, toByteOffset: 32, as: V.self)
        o1.storeBytes(of: a12, toByteOffset: 64, as: V.self)
        let o2 = UnsafeMutableRawPointer(out + 2 * rowStride)
        o2.storeBytes(of: a20, toByteOffset: 0, as: V.self)
        o2.storeBytes(of: a21, toByteOffset: 32, as: V.self)
        o2.storeBytes(of: a22, toByteOffset: 64, as: V.self)
        let o3 = UnsafeMutableRawPointer(out + 3 * rowStride)
        o3.storeBytes(of: a30, toByteOffset: 0, as: V.self)
        o3.storeBytes(of: a31, toByteOffset: 32, as: V.self)
        o3.storeBytes(of: a32, toByteOffset: 64, as: V.self)
    }
}
