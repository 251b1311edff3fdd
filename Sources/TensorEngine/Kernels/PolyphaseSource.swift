// Stride-2 convolutions on the direct kernels: the input's polyphase planes as the channels of a
// stride-1 plan (see DirectConvolution.swift for the stacked grid).

/// A stride-2 convolution (dilation 1) as a stride-1 one: output (oh, ow) reads
/// x[2·oh − padTop + r][2·ow − padLeft + s], which is row oh + ⌊(r − padTop)/2⌋ of polyphase plane
/// (r − padTop) mod 2 (and likewise for columns), x's rows of that parity. So the polyphase planes of
/// each input channel, ⌈H/2⌉ × ⌈W/2⌉, stacked as channels of the direct kernels' grid, with each
/// (c, r, s) tap reading its plane at its offset, give the stride-2 result with the kernels, work and
/// packing of a stride-1 convolution: no tap is zero, the sums run over (c, r, s) in the filter's order.
/// Only the planes some tap reads are loaded (one for a 1×1 kernel, four from 2×2 on).
struct PolyphaseSource {
    /// C/G, the source's input channels per group.
    var channels: Int
    var height: Int
    var width: Int
    var kernelH: Int
    var kernelW: Int
    var padTop: Int
    var padLeft: Int
    /// The row and column parities some tap reads, ascending; plane (a, b) is grid channel
    /// (slot(a, b)·channels + c).
    var rowParities: [Int]
    var columnParities: [Int]

    /// The stride-1 plan over the planes, or nil when `g` is not a stride-2 convolution this covers
    /// (dilation, or a bottom/right padding so small that the planes' grid would need cropping).
    static func plan(_ g: Conv2DGeometry, targetPositions: Int, simd: SIMDLevel) -> DirectConvPlan? {
        guard g.strideH == 2, g.strideW == 2, g.dilationH == 1, g.dilationW == 1 else { return nil }
        let (lowR, highR) = (floorHalf(-g.padTop), floorHalf(g.kernelHeight - 1 - g.padTop))
        let (lowS, highS) = (floorHalf(-g.padLeft), floorHalf(g.kernelWidth - 1 - g.padLeft))
        let planeH = (g.height + 1) / 2
        let planeW = (g.width + 1) / 2
        // The plan's output is planeH + padTop + padBottom − (R − 1) rows: exactly Ho with these.
        let padBottom = g.outHeight + highR - planeH
        let padRight = g.outWidth + highS - planeW
        guard lowR <= 0, lowS <= 0, padBottom >= 0, padRight >= 0 else { return nil }
        let rowParities = Set((0..<g.kernelHeight).map { floorMod2($0 - g.padTop) }).sorted()
        let columnParities = Set((0..<g.kernelWidth).map { floorMod2($0 - g.padLeft) }).sorted()
        var plan = DirectConvPlan(
            batch: g.batch,
            groups: g.groups,
            inPerGroup: rowParities.count * columnParities.count * g.inPerGroup,
            outPerGroup: g.outPerGroup,
            height: planeH,
            width: planeW,
            kernelH: highR - lowR + 1,
            kernelW: highS - lowS + 1,
            dilationH: 1,
            dilationW: 1,
            padTop: -lowR,
            padLeft: -lowS,
            padBottom: padBottom,
            padRight: padRight,
            targetPositions: targetPositions,
            simd: simd
        )
        plan.source = PolyphaseSource(
            channels: g.inPerGroup,
            height: g.height,
            width: g.width,
            kernelH: g.kernelHeight,
            kernelW: g.kernelWidth,
            padTop: g.padTop,
            padLeft: g.padLeft,
            rowParities: rowParities,
            columnParities: columnParities
        )
        precondition(
            plan.outH == g.outHeight && plan.outW == g.outWidth,
            "polyphase plan gives \(plan.outH)×\(plan.outW), expected \(g.outHeight)×\(g.outWidth)"
        )
        return plan
    }

    /// v mod 2 in {0, 1} for negative v too.
    static func floorMod2(_ v: Int) -> Int { v - 2 * floorHalf(v) }

    /// The grid slot of plane (a, b): its index among the planes loaded (each parity list is one
    /// parity or both).
    func slot(_ a: Int, _ b: Int) -> Int {
        (rowParities.count == 2 ? a : 0) * columnParities.count + (columnParities.count == 2 ? b : 0)
    }

    /// ⌊v/2⌋ for negative v too.
    static func floorHalf(_ v: Int) -> Int { v >= 0 ? v / 2 : -((1 - v) / 2) }

    /// offsets[c·R·S + r·S + s] on the planes' grid: plane ((r − padTop) mod 2, (s − padLeft) mod 2)
    /// of channel c, shifted by ⌊(r − padTop)/2⌋ rows and ⌊(s − padLeft)/2⌋ columns.
    func tapOffsets(_ plan: DirectConvPlan) -> [Int] {
        var offsets = [Int](repeating: 0, count: channels * kernelH * kernelW)
        for c in 0..<channels {
            for r in 0..<kernelH {
                let dr = Self.floorHalf(r - padTop)
                let a = r - padTop - 2 * dr
                for s in 0..<kernelW {
                    let ds = Self.floorHalf(s - padLeft)
                    let b = s - padLeft - 2 * ds
                    let plane = slot(a, b) * channels + c
                    offsets[(c * kernelH + r) * kernelW + s] =
                        plane * plan.channelStride + (dr + plan.padTop) * plan.rowLength + ds + plan.padLeft
                }
            }
        }
        return offsets
    }

    /// Copies images [n0, n0 + count) of group `gi` of x (N,C,H,W) into the planes of `xpad`: plane
    /// (a, b) of channel c holds x[c][2i + a][2j + b] at grid row i, column j; the rest stays zero.
    func loadPhases(
        _ x: UnsafePointer<Float>,
        images n0: Int,
        count: Int,
        group gi: Int,
        _ xpad: UnsafeMutablePointer<Float>,
        _ plan: DirectConvPlan
    ) {
        let plane = height * width
        let rowLength = plan.rowLength
        for c in 0..<channels {
            for n in 0..<count {
                let src = x + ((n0 + n) * plan.groups * channels + gi * channels + c) * plane
                let top = (n * plan.rowsPerImage + plan.padTop) * rowLength + plan.padLeft
                for a in rowParities {
                    let rows = (height - a + 1) / 2
                    for b in columnParities {
                        let dst = xpad + (slot(a, b) * channels + c) * plan.channelStride + top
                        for i in 0..<rows {
                            Self.everyOther(src + (2 * i + a) * width, parity: b, width: width, dst + i * rowLength)
                        }
                    }
                }
            }
        }
    }

    /// out[j] = row[2j + parity] for 2j + parity < width: vector loads of 16 and 8 floats that stay
    /// inside the row, their even lanes kept, then single floats.
    @inline(__always)
    static func everyOther(
        _ row: UnsafePointer<Float>,
        parity: Int,
        width: Int,
        _ out: UnsafeMutablePointer<Float>
    ) {
        let columns = (width - parity + 1) / 2
        let from = UnsafeRawPointer(row + parity)
        let to = UnsafeMutableRawPointer(out)
        var j = 0
        while 2 * j + parity + 16 <= width {
            let v = from.loadUnaligned(fromByteOffset: 8 * j, as: SIMD16<Float>.self)
            to.storeBytes(of: v.evenHalf, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            j += 8
        }
        while 2 * j + parity + 8 <= width {
            let v = from.loadUnaligned(fromByteOffset: 8 * j, as: SIMD8<Float>.self)
            to.storeBytes(of: v.evenHalf, toByteOffset: 4 * j, as: SIMD4<Float>.self)
            j += 4
        }
        while j < columns {
            out[j] = row[2 * j + parity]
            j += 1
        }
    }
}
