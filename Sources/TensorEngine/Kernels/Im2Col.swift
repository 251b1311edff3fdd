// Convolution lowered to GEMM through im2col, batched over a chunk of images so that the GEMM's
// N dimension is nChunk·Ho·Wo rather than Ho·Wo.
//
// col is (C·R·S, nChunk·Ho·Wo): row (c,r,s), column (n,oh,ow) holds x[n,c,oh·sH−padTop+r·dH,
// ow·sW−padLeft+s·dW] (0 in the padding). Group g owns rows [g·(C/G)·R·S, (g+1)·(C/G)·R·S).

extension Kernels {
    /// Images per chunk: enough columns for a wide GEMM, few enough that col stays near the caches.
    static func im2colChunk(_ g: Conv2DGeometry) -> Int {
        let rows = g.inChannels * g.kernelHeight * g.kernelWidth
        let perImage = rows * g.outHeight * g.outWidth
        let budget = 1 << 20  // floats (4 MiB)
        return max(1, min(g.batch, budget / max(perImage, 1)))
    }

    /// y (N,K,Ho,Wo) = w_g (K/G, C/G·R·S) × col_g (C/G·R·S, nChunk·Ho·Wo), scattered back to NCHW, + bias.
    static func conv2dIm2col(
        _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let chunk = im2colChunk(g)
        let hw = g.outHeight * g.outWidth
        let crs = g.inChannels * g.kernelHeight * g.kernelWidth
        let cgrs = g.inPerGroup * g.kernelHeight * g.kernelWidth
        let kg = g.outPerGroup
        let col = UnsafeMutablePointer<Float>.allocate(capacity: crs * chunk * hw)
        let ybuf = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * chunk * hw)
        defer {
            col.deallocate()
            ybuf.deallocate()
        }
        for n0 in stride(from: 0, to: g.batch, by: chunk) {
            let nc = min(chunk, g.batch - n0)
            let ld = nc * hw
            im2col(x + n0 * g.inChannels * g.height * g.width, images: nc, col, g)
            // With one image, (K, Ho·Wo) is already the NCHW layout of that image.
            let target = nc == 1 ? y + n0 * g.outChannels * hw : ybuf
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false,
                    transposeB: false,
                    M: kg,
                    N: ld,
                    K: cgrs,
                    alpha: 1,
                    a: w + gi * kg * cgrs,
                    lda: cgrs,
                    b: col + gi * cgrs * ld,
                    ldb: ld,
                    beta: 0,
                    c: target + gi * kg * ld,
                    ldc: ld
                )
            }
            // ybuf is (K, nChunk, Ho·Wo); y[n0 + n] is (K, Ho·Wo).
            let channels = g.outChannels
            parallelChunks(nc * channels, costPerItem: hw) { range in
                for item in range {
                    let n = item / channels
                    let k = item % channels
                    let dst = y + ((n0 + n) * channels + k) * hw
                    let b = bias.map { $0[k] } ?? 0
                    if nc == 1 {
                        if b != 0 { for i in 0..<hw { dst[i] += b } }
                    } else {
                        let src = ybuf + (k * nc + n) * hw
                        for i in 0..<hw { dst[i] = src[i] + b }
                    }
                }
            }
        }
    }

    /// dx (N,C,H,W) = col2im(w_gᵀ (C/G·R·S, K/G) × dy_g (K/G, nChunk·Ho·Wo)).
    static func conv2dIm2colBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let chunk = im2colChunk(g)
        let hw = g.outHeight * g.outWidth
        let crs = g.inChannels * g.kernelHeight * g.kernelWidth
        let cgrs = g.inPerGroup * g.kernelHeight * g.kernelWidth
        let kg = g.outPerGroup
        let col = UnsafeMutablePointer<Float>.allocate(capacity: crs * chunk * hw)
        let dybuf = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * chunk * hw)
        defer {
            col.deallocate()
            dybuf.deallocate()
        }
        for n0 in stride(from: 0, to: g.batch, by: chunk) {
            let nc = min(chunk, g.batch - n0)
            let ld = nc * hw
            let source = gatherChunk(dy + n0 * g.outChannels * hw, images: nc, channels: g.outChannels, hw, dybuf)
            for gi in 0..<g.groups {
                gemm(
                    transposeA: true,
                    transposeB: false,
                    M: cgrs,
                    N: ld,
                    K: kg,
                    alpha: 1,
                    a: w + gi * kg * cgrs,
                    lda: cgrs,
                    b: source + gi * kg * ld,
                    ldb: ld,
                    beta: 0,
                    c: col + gi * cgrs * ld,
                    ldc: ld
                )
            }
            col2im(col, images: nc, dx + n0 * g.inChannels * g.height * g.width, g)
        }
    }

    /// dw_g (K/G, C/G·R·S) = Σ_chunks dy_g (K/G, nChunk·Ho·Wo) × col_gᵀ (nChunk·Ho·Wo, C/G·R·S).
    static func conv2dIm2colBackwardFilter(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let chunk = im2colChunk(g)
        let hw = g.outHeight * g.outWidth
        let crs = g.inChannels * g.kernelHeight * g.kernelWidth
        let cgrs = g.inPerGroup * g.kernelHeight * g.kernelWidth
        let kg = g.outPerGroup
        let col = UnsafeMutablePointer<Float>.allocate(capacity: crs * chunk * hw)
        let dybuf = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * chunk * hw)
        defer {
            col.deallocate()
            dybuf.deallocate()
        }
        for n0 in stride(from: 0, to: g.batch, by: chunk) {
            let nc = min(chunk, g.batch - n0)
            let ld = nc * hw
            im2col(x + n0 * g.inChannels * g.height * g.width, images: nc, col, g)
            let source = gatherChunk(dy + n0 * g.outChannels * hw, images: nc, channels: g.outChannels, hw, dybuf)
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false,
                    transposeB: true,
                    M: kg,
                    N: cgrs,
                    K: ld,
                    alpha: 1,
                    a: source + gi * kg * ld,
                    lda: ld,
                    b: col + gi * cgrs * ld,
                    ldb: ld,
                    beta: n0 == 0 ? 0 : 1,
                    c: dw + gi * kg * cgrs,
                    ldc: cgrs
                )
            }
        }
    }

    /// Rearranges a chunk of dy (nChunk, K, Ho·Wo) into (K, nChunk·Ho·Wo) in `buffer`; with one image
    /// the layouts agree and `dy` itself is returned.
    static func gatherChunk(
        _ dy: UnsafePointer<Float>,
        images: Int,
        channels: Int,
        _ hw: Int,
        _ buffer: UnsafeMutablePointer<Float>
    ) -> UnsafePointer<Float> {
        if images == 1 { return dy }
        parallelChunks(images * channels, costPerItem: hw) { range in
            for item in range {
                let n = item / channels
                let k = item % channels
                (buffer + (k * images + n) * hw).update(from: dy + (n * channels + k) * hw, count: hw)
            }
        }
        return UnsafePointer(buffer)
    }

    /// The columns [lo, hi) of 0..<outExtent whose tap at `offset` (= s·dW − padLeft) lands inside 0..<size.
    @inline(__always)
    static func validRange(outExtent: Int, stride: Int, offset: Int, size: Int) -> Range<Int> {
        // Need 0 ≤ o·stride + offset ≤ size − 1.
        let lo = offset >= 0 ? 0 : min(outExtent, (-offset + stride - 1) / stride)
        let top = size - 1 - offset
        let hi = top < 0 ? 0 : min(outExtent, top / stride + 1)
        return lo < hi ? lo..<hi : lo..<lo
    }

    /// col (C·R·S, images·Ho·Wo) from x (images, C, H, W); rows are split over threads.
    static func im2col(_ x: UnsafePointer<Float>, images: Int, _ col: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry)
    {
        let ho = g.outHeight
        let wo = g.outWidth
        let hw = ho * wo
        let ld = images * hw
        let rs = g.kernelHeight * g.kernelWidth
        let plane = g.height * g.width
        parallelChunks(g.inChannels * rs, costPerItem: ld) { rows in
            for row in rows {
                let c = row / rs
                let r = (row % rs) / g.kernelWidth
                let s = row % g.kernelWidth
                let rowOffset = r * g.dilationH - g.padTop
                let colOffset = s * g.dilationW - g.padLeft
                let owRange = validRange(outExtent: wo, stride: g.strideW, offset: colOffset, size: g.width)
                let ohRange = validRange(outExtent: ho, stride: g.strideH, offset: rowOffset, size: g.height)
                for n in 0..<images {
                    let src = x + (n * g.inChannels + c) * plane
                    let dst = col + row * ld + n * hw
                    if ohRange.lowerBound > 0 { dst.update(repeating: 0, count: ohRange.lowerBound * wo) }
                    if ohRange.upperBound < ho {
                        (dst + ohRange.upperBound * wo).update(repeating: 0, count: (ho - ohRange.upperBound) * wo)
                    }
                    for oh in ohRange {
                        let d = dst + oh * wo
                        let srow = src + (oh * g.strideH + rowOffset) * g.width + colOffset
                        if owRange.lowerBound > 0 { d.update(repeating: 0, count: owRange.lowerBound) }
                        if owRange.upperBound < wo {
                            (d + owRange.upperBound).update(repeating: 0, count: wo - owRange.upperBound)
                        }
                        if g.strideW == 1 {
                            copyRow(srow + owRange.lowerBound, d + owRange.lowerBound, count: owRange.count)
                        } else if g.strideW == 2 {
                            gatherEven(srow, d, owRange, rowEnd: g.width - colOffset)
                        } else {
                            for ow in owRange { d[ow] = srow[ow * g.strideW] }
                        }
                    }
                }
            }
        }
    }

    /// d[ow] = srow[2·ow] for ow in `range`: four at a time from 8-float loads while a load stays
    /// inside the row (`rowEnd` floats from `srow`), the rest one by one.
    @inline(__always)
    static func gatherEven(
        _ srow: UnsafePointer<Float>,
        _ d: UnsafeMutablePointer<Float>,
        _ range: Range<Int>,
        rowEnd: Int
    ) {
        var ow = range.lowerBound
        while ow + 4 <= range.upperBound && 2 * ow + 8 <= rowEnd {
            let pair = UnsafeRawPointer(srow + 2 * ow).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(d + ow).storeBytes(of: pair.evenHalf, as: SIMD4<Float>.self)
            ow += 4
        }
        while ow < range.upperBound {
            d[ow] = srow[2 * ow]
            ow += 1
        }
    }

    /// dx (images, C, H, W) = Σ over taps of col (C·R·S, images·Ho·Wo) put back in place (overwrites dx).
    /// Planes (n, c) are split over threads, so no two threads write the same element.
    static func col2im(_ col: UnsafePointer<Float>, images: Int, _ dx: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry)
    {
        let ho = g.outHeight
        let wo = g.outWidth
        let hw = ho * wo
        let ld = images * hw
        let plane = g.height * g.width
        let channels = g.inChannels
        parallelChunks(images * channels, costPerItem: g.kernelHeight * g.kernelWidth * hw) { planes in
            for item in planes {
                let n = item / channels
                let c = item % channels
                let dst = dx + item * plane
                dst.update(repeating: 0, count: plane)
                for r in 0..<g.kernelHeight {
                    let rowOffset = r * g.dilationH - g.padTop
                    let ohRange = validRange(outExtent: ho, stride: g.strideH, offset: rowOffset, size: g.height)
                    for s in 0..<g.kernelWidth {
                        let colOffset = s * g.dilationW - g.padLeft
                        let owRange = validRange(outExtent: wo, stride: g.strideW, offset: colOffset, size: g.width)
                        let src = col + ((c * g.kernelHeight + r) * g.kernelWidth + s) * ld + n * hw
                        for oh in ohRange {
                            let srow = src + oh * wo
                            let drow = dst + (oh * g.strideH + rowOffset) * g.width + colOffset
                            if g.strideW == 1 {
                                for ow in owRange { drow[ow] += srow[ow] }
                            } else {
                                for ow in owRange { drow[ow * g.strideW] += srow[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}
