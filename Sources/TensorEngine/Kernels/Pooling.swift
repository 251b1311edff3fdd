// 2-D max and average pooling with ONNX MaxPool/AveragePool semantics (pads, dilations, ceil_mode,
// count_include_pad). x is (N,C,H,W), y is (N,C,Ho,Wo); planes (n,c) are split over threads.

/// The geometry of a 2-D pooling: x is (N,C,H,W), window R×S, y is (N,C,Ho,Wo).
public struct Pool2DGeometry: Sendable, Equatable, Hashable {
    /// N.
    public var batch: Int
    /// C.
    public var channels: Int
    /// H.
    public var height: Int
    /// W.
    public var width: Int
    /// R.
    public var kernelHeight: Int
    /// S.
    public var kernelWidth: Int
    public var strideH: Int
    public var strideW: Int
    public var dilationH: Int
    public var dilationW: Int
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int
    /// Round the output extent up instead of down; the last window must still start inside the
    /// input or its leading padding.
    public var ceilMode: Bool

    public init(
        batch: Int,
        channels: Int,
        height: Int,
        width: Int,
        kernelHeight: Int,
        kernelWidth: Int,
        strideH: Int = 1,
        strideW: Int = 1,
        dilationH: Int = 1,
        dilationW: Int = 1,
        padTop: Int = 0,
        padLeft: Int = 0,
        padBottom: Int = 0,
        padRight: Int = 0,
        ceilMode: Bool = false
    ) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideH = strideH
        self.strideW = strideW
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.ceilMode = ceilMode
    }

    /// Ho = ⌊(H + padTop + padBottom − dilationH·(R−1) − 1) / strideH⌋ + 1, or ⌈·⌉ + 1 in ceil mode,
    /// minus one when the last window would start at or past H + padTop.
    public var outHeight: Int {
        Self.outExtent(height, padTop, padBottom, kernelHeight, strideH, dilationH, ceilMode)
    }

    /// Wo, as `outHeight` along the width.
    public var outWidth: Int {
        Self.outExtent(width, padLeft, padRight, kernelWidth, strideW, dilationW, ceilMode)
    }

    /// N·C·H·W.
    public var inputCount: Int { batch * channels * height * width }
    /// N·C·Ho·Wo.
    public var outputCount: Int { batch * channels * outHeight * outWidth }

    /// 2×2 windows at stride 2 without padding or dilation, every window inside the input.
    var isFullTwoByTwo: Bool {
        kernelHeight == 2 && kernelWidth == 2 && strideH == 2 && strideW == 2 && dilationH == 1 && dilationW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0 && 2 * outHeight <= height
            && 2 * outWidth <= width
    }

    static func outExtent(
        _ size: Int,
        _ pad0: Int,
        _ pad1: Int,
        _ kernel: Int,
        _ stride: Int,
        _ dilation: Int,
        _ ceil: Bool
    ) -> Int {
        let span = size + pad0 + pad1 - dilation * (kernel - 1) - 1
        if span < 0 || stride < 1 { return 0 }
        var out = (ceil ? (span + stride - 1) / stride : span / stride) + 1
        if ceil && (out - 1) * stride >= size + pad0 { out -= 1 }
        return out
    }

    /// `nil` when the geometry is consistent, else a message naming the offending values. Besides
    /// positive extents it requires every window to cover at least one input element.
    public func validate() -> String? {
        let positive: [(String, Int)] = [
            ("batch", batch), ("channels", channels), ("height", height), ("width", width),
            ("kernelHeight", kernelHeight), ("kernelWidth", kernelWidth), ("strideH", strideH),
            ("strideW", strideW), ("dilationH", dilationH), ("dilationW", dilationW),
        ]
        for (name, value) in positive where value < 1 {
            return "Pool2DGeometry: \(name) = \(value) must be positive"
        }
        let pads = [("padTop", padTop), ("padLeft", padLeft), ("padBottom", padBottom), ("padRight", padRight)]
        for (name, value) in pads where value < 0 {
            return "Pool2DGeometry: \(name) = \(value) must not be negative"
        }
        if outHeight < 1 || outWidth < 1 {
            return "Pool2DGeometry: output \(outHeight)×\(outWidth) is empty for input \(height)×\(width), "
                + "kernel \(kernelHeight)×\(kernelWidth), dilation (\(dilationH),\(dilationW)), "
                + "pads (\(padTop),\(padLeft),\(padBottom),\(padRight))"
        }
        for (axis, windows) in [("row", rowWindows), ("column", columnWindows)] {
            if let o = windows.firstIndex(where: { $0.taps.isEmpty }) {
                return "Pool2DGeometry: the window at output \(axis) \(o) covers only padding "
                    + "(input \(height)×\(width), kernel \(kernelHeight)×\(kernelWidth), "
                    + "stride (\(strideH),\(strideW)), dilation (\(dilationH),\(dilationW)), "
                    + "pads (\(padTop),\(padLeft),\(padBottom),\(padRight)))"
            }
        }
        return nil
    }

    /// One output index along an axis: its taps that land inside the input (as tap indices), where
    /// tap 0 lands (may be negative), and how many taps land inside the padded input.
    struct AxisWindow {
        var taps: Range<Int>
        var origin: Int
        var paddedTaps: Int
    }

    static func windows(
        _ outCount: Int,
        size: Int,
        pad0: Int,
        pad1: Int,
        kernel: Int,
        stride: Int,
        dilation: Int
    ) -> [AxisWindow] {
        (0..<max(outCount, 0)).map { o in
            let origin = o * stride - pad0
            // Taps t with 0 ≤ origin + t·dilation < size (resp. −pad0 ≤ · < size + pad1).
            func count(_ lowBound: Int, _ highBound: Int) -> Range<Int> {
                let lo = origin >= lowBound ? 0 : (lowBound - origin + dilation - 1) / dilation
                let top = highBound - 1 - origin
                let hi = top < 0 ? 0 : min(kernel, top / dilation + 1)
                return lo < hi ? lo..<hi : 0..<0
            }
            return AxisWindow(
                taps: count(0, size),
                origin: origin,
                paddedTaps: count(-pad0, size + pad1).count
            )
        }
    }

    var rowWindows: [AxisWindow] {
        Self.windows(
            outHeight,
            size: height,
            pad0: padTop,
            pad1: padBottom,
            kernel: kernelHeight,
            stride: strideH,
            dilation: dilationH
        )
    }

    var columnWindows: [AxisWindow] {
        Self.windows(
            outWidth,
            size: width,
            pad0: padLeft,
            pad1: padRight,
            kernel: kernelWidth,
            stride: strideW,
            dilation: dilationW
        )
    }
}

extension Kernels {
    static func checkPool(_ g: Pool2DGeometry, _ count: Int, _ expected: Int, _ name: String, _ what: String) {
        if let problem = g.validate() { preconditionFailure("\(name): \(problem)") }
        precondition(count == expected, "\(name): \(what) has \(count) elements, expected \(expected)")
    }

    /// y[n,c,oh,ow] = max over the window of x (padding never wins); argmax is the flat index into x
    /// of the first maximum in row-major window order. x is (N,C,H,W) → y, argmax (N,C,Ho,Wo).
    public static func maxPool2d(_ x: [Float], _ g: Pool2DGeometry) -> (values: [Float], argmax: [Int32]) {
        checkPool(g, x.count, g.inputCount, "maxPool2d", "x (N,C,H,W)")
        precondition(g.inputCount <= Int(Int32.max), "maxPool2d: \(g.inputCount) inputs overflow Int32 argmax")
        let rows = g.rowWindows
        let cols = g.columnWindows
        let ho = g.outHeight
        let wo = g.outWidth
        let inPlane = g.height * g.width
        let outPlane = ho * wo
        let count = g.outputCount
        if g.isFullTwoByTwo { return maxPool2x2(x, g) }
        var argmax = [Int32](repeating: 0, count: count)
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            x.withUnsafeBufferPointer { px in
                argmax.withUnsafeMutableBufferPointer { pa in
                    let py = out
                    let window = g.kernelHeight * g.kernelWidth
                    parallelChunks(g.batch * g.channels, costPerItem: outPlane * window) { planes in
                        for plane in planes {
                            let base = plane * inPlane
                            for oh in 0..<ho {
                                let rw = rows[oh]
                                for ow in 0..<wo {
                                    let cw = cols[ow]
                                    // Every window has a tap inside the input (validate), so the
                                    // first one seeds the maximum; later ones replace it only when
                                    // strictly greater (a select, not a branch).
                                    let firstRow = rw.origin + rw.taps.lowerBound * g.dilationH
                                    let firstColumn = cw.origin + cw.taps.lowerBound * g.dilationW
                                    var bestIndex = base + firstRow * g.width + firstColumn
                                    var best = px[bestIndex]
                                    for r in rw.taps {
                                        let rowBase = base + (rw.origin + r * g.dilationH) * g.width + cw.origin
                                        for s in cw.taps {
                                            let i = rowBase + s * g.dilationW
                                            let v = px[i]
                                            let greater = v > best
                                            best = greater ? v : best
                                            bestIndex = greater ? i : bestIndex
                                        }
                                    }
                                    let o = plane * outPlane + oh * wo + ow
                                    py[o] = best
                                    pa[o] = Int32(bestIndex)
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return (values, argmax)
    }

    /// `maxPool2d` for 2×2 windows at stride 2 without padding or dilation, every window inside the
    /// input (the classifiers' common downsampling): eight outputs at a time from two 16-float rows
    /// (four from 8-float rows for rows of 4 to 7 outputs, the last vector overlapping the one before),
    /// the same taps in the same order as the general loop (the first seeds the maximum, a later one
    /// replaces it only when strictly greater), so values and argmax are identical.
    static func maxPool2x2(_ x: [Float], _ g: Pool2DGeometry) -> (values: [Float], argmax: [Int32]) {
        let ho = g.outHeight
        let wo = g.outWidth
        let width = g.width
        let inPlane = g.height * width
        let outPlane = ho * wo
        let count = g.outputCount
        var argmax = [Int32](repeating: 0, count: count)
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            x.withUnsafeBufferPointer { px in
                argmax.withUnsafeMutableBufferPointer { pa in
                    guard let px = px.baseAddress, let pa = pa.baseAddress, let py = out.baseAddress else { return }
                    parallelChunks(g.batch * g.channels, costPerItem: outPlane * 4) { planes in
                        let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
                        let lanes4 = SIMD4<Int32>(0, 2, 4, 6)
                        let rowStep = Int32(width)
                        for plane in planes {
                            for oh in 0..<ho {
                                let rowStart = plane * inPlane + 2 * oh * width
                                let r0 = UnsafeRawPointer(px + rowStart)
                                let r1 = UnsafeRawPointer(px + rowStart + width)
                                let o = plane * outPlane + oh * wo
                                // Outputs ow … ow + 7 (2·ow + 16 ≤ width: every window is inside).
                                func eight(_ ow: Int) {
                                    let top = r0.loadUnaligned(fromByteOffset: 8 * ow, as: SIMD16<Float>.self)
                                    let bottom = r1.loadUnaligned(fromByteOffset: 8 * ow, as: SIMD16<Float>.self)
                                    let i00 = SIMD8<Int32>(repeating: Int32(rowStart + 2 * ow)) &+ lanes
                                    var best = top.evenHalf
                                    var index = i00
                                    let v1 = top.oddHalf
                                    let g1 = v1 .> best
                                    best.replace(with: v1, where: g1)
                                    index.replace(with: i00 &+ 1, where: g1)
                                    let v2 = bottom.evenHalf
                                    let g2 = v2 .> best
                                    best.replace(with: v2, where: g2)
                                    index.replace(with: i00 &+ rowStep, where: g2)
                                    let v3 = bottom.oddHalf
                                    let g3 = v3 .> best
                                    best.replace(with: v3, where: g3)
                                    index.replace(with: i00 &+ (rowStep + 1), where: g3)
                                    UnsafeMutableRawPointer(py + o + ow).storeBytes(of: best, as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(pa + o + ow).storeBytes(of: index, as: SIMD8<Int32>.self)
                                }
                                // Outputs ow … ow + 3 from 8-float rows, the same taps in the same order.
                                func four(_ ow: Int) {
                                    let top = r0.loadUnaligned(fromByteOffset: 8 * ow, as: SIMD8<Float>.self)
                                    let bottom = r1.loadUnaligned(fromByteOffset: 8 * ow, as: SIMD8<Float>.self)
                                    let i00 = SIMD4<Int32>(repeating: Int32(rowStart + 2 * ow)) &+ lanes4
                                    var best = top.evenHalf
                                    var index = i00
                                    let v1 = top.oddHalf
                                    let g1 = v1 .> best
                                    best.replace(with: v1, where: g1)
                                    index.replace(with: i00 &+ 1, where: g1)
                                    let v2 = bottom.evenHalf
                                    let g2 = v2 .> best
                                    best.replace(with: v2, where: g2)
                                    index.replace(with: i00 &+ rowStep, where: g2)
                                    let v3 = bottom.oddHalf
                                    let g3 = v3 .> best
                                    best.replace(with: v3, where: g3)
                                    index.replace(with: i00 &+ (rowStep + 1), where: g3)
                                    UnsafeMutableRawPointer(py + o + ow).storeBytes(of: best, as: SIMD4<Float>.self)
                                    UnsafeMutableRawPointer(pa + o + ow).storeBytes(of: index, as: SIMD4<Int32>.self)
                                }
                                // Every window is inside the input, so 2·wo ≤ width: the last vector
                                // overlaps the one before it (recomputing equal outputs) instead of a
                                // scalar tail; rows of 4 to 7 outputs take two overlapping fours.
                                var ow = 0
                                if wo >= 8 {
                                    while ow + 8 <= wo {
                                        eight(ow)
                                        ow += 8
                                    }
                                    if ow < wo { eight(wo - 8) }
                                    ow = wo
                                } else if wo >= 4 {
                                    four(0)
                                    four(wo - 4)
                                    ow = wo
                                }
                                while ow < wo {
                                    let i0 = rowStart + 2 * ow
                                    var bestIndex = i0
                                    var best = px[i0]
                                    if px[i0 + 1] > best { (best, bestIndex) = (px[i0 + 1], i0 + 1) }
                                    if px[i0 + width] > best { (best, bestIndex) = (px[i0 + width], i0 + width) }
                                    if px[i0 + width + 1] > best {
                                        (best, bestIndex) = (px[i0 + width + 1], i0 + width + 1)
                                    }
                                    py[o + ow] = best
                                    pa[o + ow] = Int32(bestIndex)
                                    ow += 1
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return (values, argmax)
    }

    /// The divisor of each output along one axis: taps inside the padded input when `includePad`,
    /// else taps inside the input. The window's divisor is the product of its row and column ones.
    static func poolDivisors(_ windows: [Pool2DGeometry.AxisWindow], includePad: Bool) -> [Int] {
        windows.map { includePad ? $0.paddedTaps : $0.taps.count }
    }

    /// y[n,c,oh,ow] = Σ_window x / divisor. x is (N,C,H,W) → y (N,C,Ho,Wo). The divisor counts the
    /// window's taps inside the padded input (countIncludePad) or inside the input (otherwise).
    public static func avgPool2d(_ x: [Float], _ g: Pool2DGeometry, countIncludePad: Bool) -> [Float] {
        checkPool(g, x.count, g.inputCount, "avgPool2d", "x (N,C,H,W)")
        let rows = g.rowWindows
        let cols = g.columnWindows
        let rowDiv = poolDivisors(rows, includePad: countIncludePad)
        let colDiv = poolDivisors(cols, includePad: countIncludePad)
        let ho = g.outHeight
        let wo = g.outWidth
        let inPlane = g.height * g.width
        let outPlane = ho * wo
        let count = g.outputCount
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            x.withUnsafeBufferPointer { px in
                let py = out
                parallelChunks(g.batch * g.channels, costPerItem: outPlane * g.kernelHeight * g.kernelWidth) {
                    planes in
                    for plane in planes {
                        let base = plane * inPlane
                        for oh in 0..<ho {
                            let rw = rows[oh]
                            for ow in 0..<wo {
                                let cw = cols[ow]
                                var sum: Float = 0
                                for r in rw.taps {
                                    let rowBase = base + (rw.origin + r * g.dilationH) * g.width + cw.origin
                                    for s in cw.taps { sum += px[rowBase + s * g.dilationW] }
                                }
                                py[plane * outPlane + oh * wo + ow] = sum / Float(rowDiv[oh] * colDiv[ow])
                            }
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// dx = avgPool2dᵀ(dy): each dy[n,c,oh,ow] / divisor is added to every input tap of its window.
    /// dy is (N,C,Ho,Wo) → dx (N,C,H,W).
    public static func avgPool2dBackward(_ dy: [Float], _ g: Pool2DGeometry, countIncludePad: Bool) -> [Float] {
        checkPool(g, dy.count, g.outputCount, "avgPool2dBackward", "dy (N,C,Ho,Wo)")
        let rows = g.rowWindows
        let cols = g.columnWindows
        let rowDiv = poolDivisors(rows, includePad: countIncludePad)
        let colDiv = poolDivisors(cols, includePad: countIncludePad)
        let ho = g.outHeight
        let wo = g.outWidth
        let inPlane = g.height * g.width
        let outPlane = ho * wo
        let count = g.inputCount
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            dy.withUnsafeBufferPointer { pdy in
                let pdx = out
                parallelChunks(g.batch * g.channels, costPerItem: outPlane * g.kernelHeight * g.kernelWidth) {
                    planes in
                    for plane in planes {
                        let base = plane * inPlane
                        for i in 0..<inPlane { pdx[base + i] = 0 }
                        for oh in 0..<ho {
                            let rw = rows[oh]
                            for ow in 0..<wo {
                                let cw = cols[ow]
                                let v = pdy[plane * outPlane + oh * wo + ow] / Float(rowDiv[oh] * colDiv[ow])
                                for r in rw.taps {
                                    let rowBase = base + (rw.origin + r * g.dilationH) * g.width + cw.origin
                                    for s in cw.taps { pdx[rowBase + s * g.dilationW] += v }
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
    }
}
