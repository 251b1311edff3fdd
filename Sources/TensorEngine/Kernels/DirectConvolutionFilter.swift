import TensorEngineAVX512

// Direct stride-1 filter gradient.
//
// dw[k][c,r,s] = Σ_chunks Σ_P dy'[k][P] · xpad[c][P + offset(c,r,s)], where dy' is a chunk of dy on
// the same stacked grid as x (junk positions zero), so junk positions contribute nothing. Work
// items are blocks of 4 output channels × 3 taps (6 with AVX-512) of one part of the batch: the
// image chunks are split into `filterBatchParts` parts, a number fixed by the geometry alone. Each
// item's partial sums are summed by one thread over its part's chunks in order and the parts are
// added in order at the end, so the result does not depend on the thread count. With the batch in
// parts, two threads each copy half of x and dy into their stacked grids instead of all of it (the
// copies cost about as much as a fifth of the products at 16 channels of 28×28).

extension Kernels {
    /// The parts of the batch whose filter-gradient partial sums are computed separately.
    static let filterBatchParts = 2

    static func conv2dDirectBackwardFilter(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry,
        simd: SIMDLevel = .active
    ) {
        if simd == .avx512 && g.laneFilterGradientApplies {
            conv2dLaneFilterGradient512(x, dy, dw, g)
            return
        }
        let plan = DirectConvPlan.forwardOrFilter(g, targetPositions: directFilterPositions, simd: simd)
        let wide = simd == .avx512
        let blockTaps = wide ? filterBlockTaps512 : 3
        let sumsPerItem = 4 * blockTaps
        let tapBlocks = (plan.taps + blockTaps - 1) / blockTaps
        // Taps past the end read offset 0 and are discarded.
        let offsets = plan.tapOffsets + [Int](repeating: 0, count: tapBlocks * blockTaps - plan.taps)
        let blocksPerGroup = plan.channelBlocks * tapBlocks
        let items = g.groups * blocksPerGroup
        let chunksPerPart = (plan.chunks + filterBatchParts - 1) / filterBatchParts
        let parts = (plan.chunks + chunksPerPart - 1) / chunksPerPart
        // Whole vectors: the junk positions up to flatRounded hold zero gradient.
        let vector = wide ? 16 : 8
        let positions = (plan.flatCount + vector - 1) / vector * vector
        let outPlane = plan.outH * plan.outW
        let rowLength = plan.rowLength
        // partials[part][item][j·blockTaps + i]
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: parts * items * sumsPerItem)
        partials.initialize(repeating: 0, count: parts * items * sumsPerItem)
        defer { partials.deallocate() }
        offsets.withUnsafeBufferPointer { offsets in
            guard let offsets = offsets.baseAddress else { return }
            let cost = chunksPerPart * positions * sumsPerItem
            parallelChunks(parts * items, costPerItem: cost) { range in
                let padCount = plan.inPerGroup * plan.channelStride
                let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padCount)
                xpad.initialize(repeating: 0, count: padCount)
                let dyCount = plan.channelBlocks * 4 * plan.flatRounded
                let dypad = UnsafeMutablePointer<Float>.allocate(capacity: dyCount)
                dypad.initialize(repeating: 0, count: dyCount)
                defer {
                    xpad.deallocate()
                    dypad.deallocate()
                }
                // The range's items, part by part.
                var first = range.lowerBound
                while first < range.upperBound {
                    let part = first / items
                    let last = min(range.upperBound, (part + 1) * items)
                    let segment = (first - part * items)..<(last - part * items)
                    let partSums = partials + part * items * sumsPerItem
                    for chunk in (part * chunksPerPart)..<min(plan.chunks, (part + 1) * chunksPerPart) {
                        let n0 = chunk * plan.chunk
                        let count = min(plan.chunk, g.batch - n0)
                        var loadedGroup = -1
                        for item in segment {
                            let gi = item / blocksPerGroup
                            if gi != loadedGroup {
                                plan.loadInput(x, images: n0, count: count, group: gi, xpad)
                                if count < plan.chunk {
                                    // Image slots past the batch must hold zero gradient.
                                    dypad.update(repeating: 0, count: dyCount)
                                }
                                for k in 0..<plan.outPerGroup {
                                    for n in 0..<count {
                                        let src =
                                            dy + ((n0 + n) * g.outChannels + gi * plan.outPerGroup + k) * outPlane
                                        let dst = dypad + k * plan.flatRounded + n * plan.rowsPerImage * rowLength
                                        for oh in 0..<plan.outH {
                                            copyRow(src + oh * plan.outW, dst + oh * rowLength, count: plan.outW)
                                        }
                                    }
                                }
                                loadedGroup = gi
                            }
                            let block = item % blocksPerGroup
                            let kb = block / tapBlocks
                            let tb = block % tapBlocks
                            let out = partSums + item * sumsPerItem
                            let rows = dypad + kb * 4 * plan.flatRounded
                            let taps = offsets + tb * blockTaps
                            if wide {
                                filterBlock512(rows, rowStride: plan.flatRounded, xpad, taps, positions, out)
                            } else {
                                filterMicroKernel(
                                    rows,
                                    rowStride: plan.flatRounded,
                                    xpad,
                                    taps[0],
                                    taps[1],
                                    taps[2],
                                    positions,
                                    out
                                )
                            }
                        }
                    }
                    first = last
                }
            }
        }
        // dw[gi·K/G + 4·kb + j][blockTaps·tb + i] = Σ_part partials[part][item][j·blockTaps + i], in
        // part order, inside the real extents.
        for item in 0..<items {
            let gi = item / blocksPerGroup
            let block = item % blocksPerGroup
            let kb = block / tapBlocks
            let tb = block % tapBlocks
            for j in 0..<4 where kb * 4 + j < plan.outPerGroup {
                for i in 0..<blockTaps where tb * blockTaps + i < plan.taps {
                    var sum = partials[item * sumsPerItem + j * blockTaps + i]
                    for part in 1..<parts {
                        sum += partials[(part * items + item) * sumsPerItem + j * blockTaps + i]
                    }
                    dw[(gi * plan.outPerGroup + kb * 4 + j) * plan.taps + tb * blockTaps + i] = sum
                }
            }
        }
    }

    /// out[j·3 + i] += Σ_(p < count) dy[j][p] · x[o_i + p] for 4 rows j (`rowStride` apart) and 3 taps i.
    @inline(__always)
    static func filterMicroKernel(
        _ dy: UnsafePointer<Float>,
        rowStride: Int,
        _ x: UnsafePointer<Float>,
        _ o0: Int,
        _ o1: Int,
        _ o2: Int,
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
            byte += 32
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
}

extension Conv2DGeometry {
    /// The output-channel-lane filter gradient runs it: 3×3, stride 1 or 2, undilated, one group, output
    /// channels a multiple of 16, and 8 or more input channels (with 1, ResNet-20's stem, half of each
    /// block's sums are discarded and the other kernel was faster: 0.20 against 0.25 ms).
    var laneFilterGradientApplies: Bool {
        kernelHeight == 3 && kernelWidth == 3 && strideH == strideW && (strideH == 1 || strideH == 2)
            && dilationH == 1 && dilationW == 1 && groups == 1 && outChannels % filterLanes512 == 0 && inChannels >= 8
    }
}

extension Kernels {
    /// Floats of dy per chunk in position-major order: with the chunk's stacked x, it stays in L2.
    static let laneFilterChunkFloats = 51_200

    /// The filter gradient of a 3×3 stride-1 or stride-2 convolution with 16 output channels in the vector lanes
    /// (`filterLaneBlock512`), for AVX-512: dy is transposed chunk by chunk to position-major order and
    /// only real output positions are visited. Work items are (16 output channels, 2 input channels)
    /// of one part of the batch; as in the other direct filter gradient, each item's sums run over its
    /// part's chunks in order on one thread and the parts are added in order, so the result does not
    /// depend on the thread count.
    static func conv2dLaneFilterGradient512(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let ks = g.outChannels
        let cs = g.inChannels
        let outPlane = g.outHeight * g.outWidth
        let imagesPerChunk = max(1, min(g.batch, laneFilterChunkFloats / (outPlane * ks)))
        var plan = DirectConvPlan(g, targetPositions: 0, simd: .avx512)
        plan.chunk = imagesPerChunk
        // Stride 1: the direct kernels' stacked grid (images and rows share their padding). Stride 2:
        // each image padded on its own (rows H + padTop + padBottom of W + padLeft + padRight), output
        // (oh, ow) reading row 2·oh + r and column 2·ow + s of its image's block.
        let stride = g.strideH
        let rowsPerImage = stride == 1 ? plan.rowsPerImage : g.height + g.padTop + g.padBottom
        let rowLength = stride == 1 ? plan.rowLength : g.width + g.padLeft + g.padRight
        let channelStride = stride == 1 ? plan.channelStride : imagesPerChunk * rowsPerImage * rowLength
        func loadInput(_ n0: Int, _ count: Int, _ xpad: UnsafeMutablePointer<Float>) {
            if stride == 1 {
                plan.loadInput(x, images: n0, count: count, group: 0, xpad)
                return
            }
            let plane = g.height * g.width
            for c in 0..<cs {
                for n in 0..<count {
                    let src = x + ((n0 + n) * cs + c) * plane
                    let dst = xpad + c * channelStride + (n * rowsPerImage + g.padTop) * rowLength + g.padLeft
                    for h in 0..<g.height { copyRow(src + h * g.width, dst + h * rowLength, count: g.width) }
                }
            }
        }
        let laneBlocks = ks / filterLanes512
        let channelPairs = (cs + filterChannels512 - 1) / filterChannels512
        let items = laneBlocks * channelPairs
        let sumsPerItem = filterChannels512 * 9 * filterLanes512
        // Chunks counted here rather than read from `plan`, whose grid fields are a stride-1 view.
        let chunks = (g.batch + imagesPerChunk - 1) / imagesPerChunk
        let chunksPerPart = (chunks + filterBatchParts - 1) / filterBatchParts
        let parts = (chunks + chunksPerPart - 1) / chunksPerPart
        // partials[part][item][(cc·9 + tap)·16 + lane]
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: parts * items * sumsPerItem)
        partials.initialize(repeating: 0, count: parts * items * sumsPerItem)
        defer { partials.deallocate() }
        let cost = chunksPerPart * imagesPerChunk * outPlane * sumsPerItem
        parallelChunks(parts * items, costPerItem: cost) { range in
            let padCount = cs * channelStride
            let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padCount)
            xpad.initialize(repeating: 0, count: padCount)
            // 64-byte aligned: each position's 16 lanes are one cache line.
            let dyT = allocateZeroed(imagesPerChunk * outPlane * ks)
            let rowBases = UnsafeMutablePointer<Int>.allocate(capacity: imagesPerChunk * g.outHeight)
            defer {
                xpad.deallocate()
                dyT.deallocate()
                rowBases.deallocate()
            }
            for t in 0..<(imagesPerChunk * g.outHeight) {
                let (n, oh) = t.quotientAndRemainder(dividingBy: g.outHeight)
                rowBases[t] = (n * rowsPerImage + stride * oh) * rowLength
            }
            var first = range.lowerBound
            while first < range.upperBound {
                let part = first / items
                let last = min(range.upperBound, (part + 1) * items)
                let partSums = partials + part * items * sumsPerItem
                for chunk in (part * chunksPerPart)..<min(chunks, (part + 1) * chunksPerPart) {
                    let n0 = chunk * imagesPerChunk
                    let count = min(imagesPerChunk, g.batch - n0)
                    loadInput(n0, count, xpad)
                    for n in 0..<count {
                        transposeToPositionMajor512(
                            dy + (n0 + n) * ks * outPlane,
                            srcStride: outPlane,
                            kBlocks: laneBlocks,
                            columns: outPlane,
                            dyT + n * outPlane * ks,
                            dstStride: ks
                        )
                    }
                    for item in (first - part * items)..<(last - part * items) {
                        let (lb, cp) = item.quotientAndRemainder(dividingBy: channelPairs)
                        let c0 = cp * filterChannels512
                        let c1 = min(c0 + 1, cs - 1)
                        filterLaneBlock512(
                            dyT + lb * filterLanes512,
                            positionStride: ks,
                            xpad + c0 * channelStride,
                            xpad + c1 * channelStride,
                            rowLength: rowLength,
                            rowBases: rowBases,
                            rows: count * g.outHeight,
                            width: g.outWidth,
                            columnStride: stride,
                            partSums + item * sumsPerItem
                        )
                    }
                }
                first = last
            }
        }
        // dw[16·lb + lane][c][tap] = Σ_part partials[part][item][(cc·9 + tap)·16 + lane], in part order.
        for item in 0..<items {
            let (lb, cp) = item.quotientAndRemainder(dividingBy: channelPairs)
            for cc in 0..<filterChannels512 where cp * filterChannels512 + cc < cs {
                let c = cp * filterChannels512 + cc
                for tap in 0..<9 {
                    for lane in 0..<filterLanes512 {
                        let at = (cc * 9 + tap) * filterLanes512 + lane
                        var sum = partials[item * sumsPerItem + at]
                        for part in 1..<parts { sum += partials[(part * items + item) * sumsPerItem + at] }
                        dw[((lb * filterLanes512 + lane) * cs + c) * 9 + tap] = sum
                    }
                }
            }
        }
    }
}
