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

    /// Output positions per register block: 3 vectors.
    var blockPositions: Int { simd == .avx512 ? directBlockPositions512 : 24 }

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
    /// inPerGroup·R·S.
    var taps: Int { inPerGroup * kernelH * kernelW }
    var packedCount: Int { groups * channelBlocks * taps * 4 }
    /// Floats per channel of the stacked input, with room for the junk reads of the last block.
    var channelStride: Int { flatRounded + dilationH * (kernelH - 1) * rowLength + dilationW * (kernelW - 1) }
    /// offsets[c·R·S + r·S + s]: where tap (c,r,s) reads, relative to the output position.
    var tapOffsets: [Int] {
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
        let plan = DirectConvPlan(g, targetPositions: directForwardPositions, simd: simd)
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
        let eh = g.dilationH * (g.kernelHeight - 1)
        let ew = g.dilationW * (g.kernelWidth - 1)
        let plan = DirectConvPlan(
            batch: g.batch,
            groups: g.groups,
            inPerGroup: g.outPerGroup,
            outPerGroup: g.inPerGroup,
            height: g.outHeight,
            width: g.outWidth,
            kernelH: g.kernelHeight,
            kernelW: g.kernelWidth,
            dilationH: g.dilationH,
            dilationW: g.dilationW,
            padTop: eh - g.padTop,
            padLeft: ew - g.padLeft,
            padBottom: eh - g.padBottom,
            padRight: ew - g.padRight,
            targetPositions: directForwardPositions,
            simd: simd
        )
        precondition(
            plan.outH == g.height && plan.outW == g.width,
            "conv2dBackwardInput: transposed plan gives \(plan.outH)×\(plan.outW), expected \(g.height)×\(g.width)"
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
                    if plan.simd == .avx512 {
                        directBlocks512(
                            xpad,
                            offsets,
                            taps: plan.taps,
                            packed + gi * plan.channelBlocks * plan.taps * 4,
                            channelBlocks: plan.channelBlocks,
                            ybuf,
                            rowStride: plan.flatRounded,
                            firstPosition: firstBlock * plan.blockPositions,
                            lastPosition: lastBlock * plan.blockPositions
                        )
                    } else {
                        directBlocks(
                            xpad,
                            offsets,
                            plan,
                            packed + gi * plan.channelBlocks * plan.taps * 4,
                            ybuf,
                            firstBlock..<lastBlock
                        )
                    }
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

    /// The AVX2 register blocks of position blocks `blocks` for every block of 4 output channels
    /// (the twin of TensorEngineAVX512's directBlocks512).
    static func directBlocks(
        _ xpad: UnsafePointer<Float>,
        _ offsets: UnsafePointer<Int>,
        _ plan: DirectConvPlan,
        _ packed: UnsafePointer<Float>,
        _ ybuf: UnsafeMutablePointer<Float>,
        _ blocks: Range<Int>
    ) {
        for pb in blocks {
            let p = pb * plan.blockPositions
            for kb in 0..<plan.channelBlocks {
                directMicroKernel(
                    xpad + p,
                    offsets,
                    plan.taps,
                    packed + kb * plan.taps * 4,
                    ybuf + kb * 4 * plan.flatRounded + p,
                    rowStride: plan.flatRounded
                )
            }
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
