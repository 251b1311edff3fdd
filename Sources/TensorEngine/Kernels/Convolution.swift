// 2-D convolution (cross-correlation, as in ONNX Conv and PyTorch) and its two adjoints.
//
// x is (N,C,H,W), w is (K,C/G,R,S), y is (N,K,Ho,Wo), G groups. Three algorithms:
// - pointwise: 1×1, stride 1, no padding — one GEMM per image and group, straight on x;
// - direct (below): stride 1 — a chunk of zero-padded images is read as one flat grid, so each tap
//   is a shifted contiguous vector, and a 4-channel × 24-position SIMD register block accumulates
//   over (c, r, s) with FMAs. The input gradient is the same kernel on dy with the flipped,
//   transposed filter; the filter gradient is a 4-channel × 3-tap block reducing over positions;
// - im2col (Im2Col.swift): everything else — columns for a chunk of images, one GEMM per group.
//
// Measured at batch 128 on the 2-core AVX2 machine (see DESIGN.md), the direct kernel runs the
// ResNet-20 stride-1 3×3 convolutions at 125–150 GFLOP/s against 60–85 for im2col + sgemm.

/// The geometry of a 2-D convolution: x is (N,C,H,W), w is (K,C/groups,R,S), y is (N,K,Ho,Wo).
public struct Conv2DGeometry: Sendable, Equatable, Hashable {
    /// N.
    public var batch: Int
    /// C.
    public var inChannels: Int
    /// H.
    public var height: Int
    /// W.
    public var width: Int
    /// K.
    public var outChannels: Int
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
    /// G: input and output channels are split into G independent groups (G == C is depthwise).
    public var groups: Int

    public init(
        batch: Int,
        inChannels: Int,
        height: Int,
        width: Int,
        outChannels: Int,
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
        groups: Int = 1
    ) {
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
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
        self.groups = groups
    }

    /// Ho = (H + padTop + padBottom − dilationH·(R−1) − 1) / strideH + 1 (floor division).
    public var outHeight: Int {
        Self.outExtent(height, padTop + padBottom, kernelHeight, strideH, dilationH)
    }

    /// Wo = (W + padLeft + padRight − dilationW·(S−1) − 1) / strideW + 1 (floor division).
    public var outWidth: Int {
        Self.outExtent(width, padLeft + padRight, kernelWidth, strideW, dilationW)
    }

    /// N·C·H·W.
    public var inputCount: Int { batch * inChannels * height * width }
    /// K·(C/G)·R·S.
    public var weightCount: Int { outChannels * (inChannels / max(groups, 1)) * kernelHeight * kernelWidth }
    /// N·K·Ho·Wo.
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }

    /// `nil` when the geometry is consistent, else a message naming the offending values.
    public func validate() -> String? {
        let positive: [(String, Int)] = [
            ("batch", batch), ("inChannels", inChannels), ("height", height), ("width", width),
            ("outChannels", outChannels), ("kernelHeight", kernelHeight), ("kernelWidth", kernelWidth),
            ("strideH", strideH), ("strideW", strideW), ("dilationH", dilationH), ("dilationW", dilationW),
            ("groups", groups),
        ]
        for (name, value) in positive where value < 1 {
            return "Conv2DGeometry: \(name) = \(value) must be positive"
        }
        let pads = [("padTop", padTop), ("padLeft", padLeft), ("padBottom", padBottom), ("padRight", padRight)]
        for (name, value) in pads where value < 0 {
            return "Conv2DGeometry: \(name) = \(value) must not be negative"
        }
        if inChannels % groups != 0 || outChannels % groups != 0 {
            return "Conv2DGeometry: inChannels \(inChannels) and outChannels \(outChannels) "
                + "must both be divisible by groups \(groups)"
        }
        if outHeight < 1 || outWidth < 1 {
            return "Conv2DGeometry: output \(outHeight)×\(outWidth) is empty for input \(height)×\(width), "
                + "kernel \(kernelHeight)×\(kernelWidth), dilation (\(dilationH),\(dilationW)), "
                + "pads (\(padTop),\(padLeft),\(padBottom),\(padRight))"
        }
        return nil
    }

    static func outExtent(_ size: Int, _ pads: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
        let span = size + pads - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / max(stride, 1) + 1
    }

    /// C/G.
    var inPerGroup: Int { inChannels / groups }
    /// K/G.
    var outPerGroup: Int { outChannels / groups }
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideH == 1 && strideW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
    }
    var isUnitStride: Bool { strideH == 1 && strideW == 1 }
}

/// Which lowering a convolution kernel uses. `automatic` picks per geometry; the others exist so
/// that tests and the benchmark can pin one. A pinned algorithm that does not apply to the
/// geometry falls back to im2col: pointwise needs 1×1, stride 1, no padding; direct needs stride 1,
/// and for the input gradient also pad ≤ dilation·(R−1).
public enum Conv2DAlgorithm: Sendable, Hashable, CaseIterable {
    case automatic
    case im2col
    case direct
    case pointwise
}

extension Kernels {
    /// y = conv2d(x, w) + bias. x is (N,C,H,W), w is (K,C/G,R,S), bias is (K) → y is (N,K,Ho,Wo).
    public static func conv2d(
        _ x: [Float],
        _ w: [Float],
        bias: [Float]?,
        _ g: Conv2DGeometry,
        algorithm: Conv2DAlgorithm = .automatic
    ) -> [Float] {
        checkConv(g, "conv2d")
        precondition(x.count == g.inputCount, "conv2d: x has \(x.count) elements, (N,C,H,W) needs \(g.inputCount)")
        precondition(w.count == g.weightCount, "conv2d: w has \(w.count) elements, (K,C/G,R,S) needs \(g.weightCount)")
        if let bias {
            precondition(bias.count == g.outChannels, "conv2d: bias has \(bias.count) elements, K = \(g.outChannels)")
        }
        let algorithm = resolvedForward(algorithm, g)
        return [Float](unsafeUninitializedCapacity: g.outputCount) { out, initialized in
            x.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    withOptionalPointer(bias) { pb in
                        guard let px = px.baseAddress, let pw = pw.baseAddress, let py = out.baseAddress else { return }
                        switch algorithm {
                        case .pointwise: conv2dPointwise(px, pw, pb, py, g)
                        case .direct: conv2dDirect(px, pw, pb, py, g)
                        case .im2col, .automatic: conv2dIm2col(px, pw, pb, py, g)
                        }
                    }
                }
            }
            initialized = g.outputCount
        }
    }

    /// dx = conv2dᵀ(dy, w), the adjoint of `conv2d` in x. dy is (N,K,Ho,Wo), w is (K,C/G,R,S) → dx (N,C,H,W).
    public static func conv2dBackwardInput(
        _ dy: [Float],
        _ w: [Float],
        _ g: Conv2DGeometry,
        algorithm: Conv2DAlgorithm = .automatic
    ) -> [Float] {
        checkConv(g, "conv2dBackwardInput")
        precondition(
            dy.count == g.outputCount,
            "conv2dBackwardInput: dy has \(dy.count) elements, (N,K,Ho,Wo) needs \(g.outputCount)"
        )
        precondition(
            w.count == g.weightCount,
            "conv2dBackwardInput: w has \(w.count) elements, (K,C/G,R,S) needs \(g.weightCount)"
        )
        let algorithm = resolvedBackwardInput(algorithm, g)
        return [Float](unsafeUninitializedCapacity: g.inputCount) { out, initialized in
            dy.withUnsafeBufferPointer { pdy in
                w.withUnsafeBufferPointer { pw in
                    guard let pdy = pdy.baseAddress, let pw = pw.baseAddress, let pdx = out.baseAddress else { return }
                    switch algorithm {
                    case .pointwise: conv2dPointwiseBackwardInput(pdy, pw, pdx, g)
                    case .direct: conv2dDirectBackwardInput(pdy, pw, pdx, g)
                    case .im2col, .automatic: conv2dIm2colBackwardInput(pdy, pw, pdx, g)
                    }
                }
            }
            initialized = g.inputCount
        }
    }

    /// dw = Σₙ dy ⋆ x, the adjoint of `conv2d` in w. x is (N,C,H,W), dy is (N,K,Ho,Wo) → dw (K,C/G,R,S).
    public static func conv2dBackwardFilter(
        _ x: [Float],
        _ dy: [Float],
        _ g: Conv2DGeometry,
        algorithm: Conv2DAlgorithm = .automatic
    ) -> [Float] {
        checkConv(g, "conv2dBackwardFilter")
        precondition(
            x.count == g.inputCount,
            "conv2dBackwardFilter: x has \(x.count) elements, (N,C,H,W) needs \(g.inputCount)"
        )
        precondition(
            dy.count == g.outputCount,
            "conv2dBackwardFilter: dy has \(dy.count) elements, (N,K,Ho,Wo) needs \(g.outputCount)"
        )
        let algorithm = resolvedBackwardFilter(algorithm, g)
        return [Float](unsafeUninitializedCapacity: g.weightCount) { out, initialized in
            x.withUnsafeBufferPointer { px in
                dy.withUnsafeBufferPointer { pdy in
                    guard let px = px.baseAddress, let pdy = pdy.baseAddress, let pdw = out.baseAddress else { return }
                    switch algorithm {
                    case .pointwise: conv2dPointwiseBackwardFilter(px, pdy, pdw, g)
                    case .direct: conv2dDirectBackwardFilter(px, pdy, pdw, g)
                    case .im2col, .automatic: conv2dIm2colBackwardFilter(px, pdy, pdw, g)
                    }
                }
            }
            initialized = g.weightCount
        }
    }

    static func checkConv(_ g: Conv2DGeometry, _ name: String) {
        if let problem = g.validate() { preconditionFailure("\(name): \(problem)") }
    }

    static func resolvedForward(_ a: Conv2DAlgorithm, _ g: Conv2DGeometry) -> Conv2DAlgorithm {
        switch a {
        case .automatic:
            if g.isPointwise { return .pointwise }
            // The direct kernel computes 4 output channels at a time; it beats im2col + GEMM at every
            // ResNet-20 stride-1 shape (7×7 to 28×28 planes), despite its junk positions.
            if g.isUnitStride && g.outPerGroup >= 4 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return g.isUnitStride ? .direct : .im2col
        case .im2col: return .im2col
        }
    }

    static func resolvedBackwardFilter(_ a: Conv2DAlgorithm, _ g: Conv2DGeometry) -> Conv2DAlgorithm {
        switch a {
        case .automatic:
            if g.isPointwise { return .pointwise }
            if g.isUnitStride && g.outPerGroup >= 4 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return g.isUnitStride ? .direct : .im2col
        case .im2col: return .im2col
        }
    }

    static func resolvedBackwardInput(_ a: Conv2DAlgorithm, _ g: Conv2DGeometry) -> Conv2DAlgorithm {
        let directApplies =
            g.isUnitStride && g.padTop <= g.dilationH * (g.kernelHeight - 1)
            && g.padBottom <= g.dilationH * (g.kernelHeight - 1) && g.padLeft <= g.dilationW * (g.kernelWidth - 1)
            && g.padRight <= g.dilationW * (g.kernelWidth - 1)
        switch a {
        case .automatic:
            if g.isPointwise { return .pointwise }
            if directApplies && g.inPerGroup >= 4 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return directApplies ? .direct : .im2col
        case .im2col: return .im2col
        }
    }
}

/// Calls `body` with the base address of `array`, or with `nil` when `array` is `nil` or empty.
private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

// MARK: - Pointwise (1×1, stride 1, unpadded): per image and group, a GEMM straight on x.

extension Kernels {
    /// y[n,g] (K/G, HW) = w_g (K/G, C/G) × x[n,g] (C/G, HW) + bias.
    static func conv2dPointwise(
        _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false,
                    transposeB: false,
                    M: kg,
                    N: hw,
                    K: cg,
                    alpha: 1,
                    a: w + gi * kg * cg,
                    lda: cg,
                    b: x + (n * g.inChannels + gi * cg) * hw,
                    ldb: hw,
                    beta: 0,
                    c: y + (n * g.outChannels + gi * kg) * hw,
                    ldc: hw
                )
            }
        }
        if let bias { addChannelBias(y, bias, planes: g.batch * g.outChannels, channels: g.outChannels, size: hw) }
    }

    /// dx[n,g] (C/G, HW) = w_gᵀ (C/G, K/G) × dy[n,g] (K/G, HW).
    static func conv2dPointwiseBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: true,
                    transposeB: false,
                    M: cg,
                    N: hw,
                    K: kg,
                    alpha: 1,
                    a: w + gi * kg * cg,
                    lda: cg,
                    b: dy + (n * g.outChannels + gi * kg) * hw,
                    ldb: hw,
                    beta: 0,
                    c: dx + (n * g.inChannels + gi * cg) * hw,
                    ldc: hw
                )
            }
        }
    }

    /// dw_g (K/G, C/G) = Σₙ dy[n,g] (K/G, HW) × x[n,g]ᵀ (HW, C/G).
    static func conv2dPointwiseBackwardFilter(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false,
                    transposeB: true,
                    M: kg,
                    N: cg,
                    K: hw,
                    alpha: 1,
                    a: dy + (n * g.outChannels + gi * kg) * hw,
                    lda: hw,
                    b: x + (n * g.inChannels + gi * cg) * hw,
                    ldb: hw,
                    beta: n == 0 ? 0 : 1,
                    c: dw + gi * kg * cg,
                    ldc: cg
                )
            }
        }
    }

    /// y[p, c, i] += bias[c] for `planes` planes of `size` elements, plane p having channel p % channels.
    static func addChannelBias(
        _ y: UnsafeMutablePointer<Float>,
        _ bias: UnsafePointer<Float>,
        planes: Int,
        channels: Int,
        size: Int
    ) {
        parallelChunks(planes, costPerItem: size) { range in
            for p in range {
                let b = bias[p % channels]
                let row = y + p * size
                for i in 0..<size { row[i] += b }
            }
        }
    }
}

// MARK: - Direct stride-1 convolution on a flat grid of stacked, padded images.
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

    /// Output positions per register block (3 SIMD8 vectors).
    static let blockPositions = 24

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
        targetPositions: Int
    ) {
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

    init(_ g: Conv2DGeometry, targetPositions: Int) {
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
            targetPositions: targetPositions
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
    var positionBlocks: Int { (flatCount + Self.blockPositions - 1) / Self.blockPositions }
    var flatRounded: Int { positionBlocks * Self.blockPositions }
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
                for h in 0..<height { (dst + h * rowLength).update(from: src + h * width, count: width) }
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
        _ g: Conv2DGeometry
    ) {
        let plan = DirectConvPlan(g, targetPositions: directForwardPositions)
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
            directConvolution(x, pw, bias, y, plan)
        }
    }

    /// The adjoint of a stride-1 convolution is a stride-1 convolution of dy with the kernel flipped
    /// and its channel axes swapped, padded by dilation·(R−1) − pad (needs pad ≤ dilation·(R−1)).
    static func conv2dDirectBackwardInput(
        _ dy: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
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
            targetPositions: directForwardPositions
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

    /// y = conv(x, packed) + bias. Work items are (chunk of images, group, run of position blocks);
    /// each thread keeps one stacked copy of a chunk's group planes and one result buffer.
    static func directConvolution(
        _ x: UnsafePointer<Float>,
        _ packed: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ plan: DirectConvPlan
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
                    for pb in firstBlock..<lastBlock {
                        let p = pb * DirectConvPlan.blockPositions
                        for kb in 0..<plan.channelBlocks {
                            directMicroKernel(
                                xpad + p,
                                offsets,
                                plan.taps,
                                packed + (gi * plan.channelBlocks + kb) * plan.taps * 4,
                                ybuf + kb * 4 * plan.flatRounded + p,
                                rowStride: plan.flatRounded
                            )
                        }
                    }
                    // Copy the kept positions of [firstBlock, lastBlock) out, adding the bias.
                    plan.forEachOutputRun(
                        firstBlock * DirectConvPlan.blockPositions,
                        lastBlock * DirectConvPlan.blockPositions,
                        n0: n0
                    ) { n, oh, ow0, ow1, p in
                        for k in 0..<plan.outPerGroup {
                            let channel = gi * plan.outPerGroup + k
                            let b = bias.map { $0[channel] } ?? 0
                            let src = ybuf + k * plan.flatRounded + p - ow0
                            let dst = y + (n * outChannels + channel) * outPlane + oh * plan.outW
                            for ow in ow0..<ow1 { dst[ow] = src[ow] + b }
                        }
                    }
                }
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

// MARK: - Direct stride-1 filter gradient.
//
// dw[k][c,r,s] = Σ_chunks Σ_P dy'[k][P] · xpad[c][P + offset(c,r,s)], where dy' is a chunk of dy on
// the same stacked grid as x (junk positions zero), so junk positions contribute nothing. Work
// items are blocks of 4 output channels × 3 taps; each item's entries are summed by one thread
// over all chunks in order, so the result does not depend on the thread count.

extension Kernels {
    static func conv2dDirectBackwardFilter(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        let plan = DirectConvPlan(g, targetPositions: directFilterPositions)
        let tapBlocks = (plan.taps + 2) / 3
        // Taps past the end read offset 0 and are discarded.
        let offsets = plan.tapOffsets + [Int](repeating: 0, count: tapBlocks * 3 - plan.taps)
        let blocksPerGroup = plan.channelBlocks * tapBlocks
        let items = g.groups * blocksPerGroup
        let positions = (plan.flatCount + 7) / 8 * 8
        let outPlane = plan.outH * plan.outW
        let rowLength = plan.rowLength
        offsets.withUnsafeBufferPointer { offsets in
            parallelChunks(items, costPerItem: plan.chunks * positions * 12) { range in
                let padCount = plan.inPerGroup * plan.channelStride
                let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padCount)
                xpad.initialize(repeating: 0, count: padCount)
                let dyCount = plan.channelBlocks * 4 * plan.flatRounded
                let dypad = UnsafeMutablePointer<Float>.allocate(capacity: dyCount)
                dypad.initialize(repeating: 0, count: dyCount)
                let sums = UnsafeMutablePointer<Float>.allocate(capacity: range.count * 12)
                sums.initialize(repeating: 0, count: range.count * 12)
                defer {
                    xpad.deallocate()
                    dypad.deallocate()
                    sums.deallocate()
                }
                for chunk in 0..<plan.chunks {
                    let n0 = chunk * plan.chunk
                    let count = min(plan.chunk, g.batch - n0)
                    var loadedGroup = -1
                    for item in range {
                        let gi = item / blocksPerGroup
                        if gi != loadedGroup {
                            plan.loadInput(x, images: n0, count: count, group: gi, xpad)
                            if count < plan.chunk {
                                // Image slots past the batch must hold zero gradient.
                                dypad.update(repeating: 0, count: dyCount)
                            }
                            for k in 0..<plan.outPerGroup {
                                for n in 0..<count {
                                    let src = dy + ((n0 + n) * g.outChannels + gi * plan.outPerGroup + k) * outPlane
                                    let dst = dypad + k * plan.flatRounded + n * plan.rowsPerImage * rowLength
                                    for oh in 0..<plan.outH {
                                        (dst + oh * rowLength).update(from: src + oh * plan.outW, count: plan.outW)
                                    }
                                }
                            }
                            loadedGroup = gi
                        }
                        let block = item % blocksPerGroup
                        let kb = block / tapBlocks
                        let tb = block % tapBlocks
                        filterMicroKernel(
                            dypad + kb * 4 * plan.flatRounded,
                            rowStride: plan.flatRounded,
                            xpad,
                            offsets[tb * 3],
                            offsets[tb * 3 + 1],
                            offsets[tb * 3 + 2],
                            positions,
                            sums + (item - range.lowerBound) * 12
                        )
                    }
                }
                // dw[gi·K/G + 4·kb + j][3·tb + i] = sums[item][j·3 + i], inside the real extents.
                for item in range {
                    let gi = item / blocksPerGroup
                    let block = item % blocksPerGroup
                    let kb = block / tapBlocks
                    let tb = block % tapBlocks
                    let s = sums + (item - range.lowerBound) * 12
                    for j in 0..<4 where kb * 4 + j < plan.outPerGroup {
                        for i in 0..<3 where tb * 3 + i < plan.taps {
                            dw[(gi * plan.outPerGroup + kb * 4 + j) * plan.taps + tb * 3 + i] = s[j * 3 + i]
                        }
                    }
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
