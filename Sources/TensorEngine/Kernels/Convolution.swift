// 2-D convolution (cross-correlation, as in ONNX Conv and PyTorch) and its two adjoints.
//
// x is (N,C,H,W), w is (K,C/G,R,S), y is (N,K,Ho,Wo), G groups. Three algorithms:
// - pointwise: 1×1, stride 1, no padding — one GEMM per image and group, straight on x;
// - direct (below): stride 1 — the padded input plane is read flat, so each tap is a shifted
//   contiguous vector, and a 4-channel × 24-position SIMD register block accumulates over (c, r, s);
// - im2col (Im2Col.swift): everything else — columns for a chunk of images, one GEMM per group.

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
        batch: Int, inChannels: Int, height: Int, width: Int,
        outChannels: Int, kernelHeight: Int, kernelWidth: Int,
        strideH: Int = 1, strideW: Int = 1, dilationH: Int = 1, dilationW: Int = 1,
        padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
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
/// geometry (direct needs stride 1, pointwise needs 1×1 stride 1 unpadded) falls back to im2col.
public enum Conv2DAlgorithm: Sendable, Hashable, CaseIterable {
    case automatic
    case im2col
    case direct
    case pointwise
}

extension Kernels {
    /// y = conv2d(x, w) + bias. x is (N,C,H,W), w is (K,C/G,R,S), bias is (K) → y is (N,K,Ho,Wo).
    public static func conv2d(
        _ x: [Float], _ w: [Float], bias: [Float]?, _ g: Conv2DGeometry,
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
        _ dy: [Float], _ w: [Float], _ g: Conv2DGeometry, algorithm: Conv2DAlgorithm = .automatic
    ) -> [Float] {
        checkConv(g, "conv2dBackwardInput")
        precondition(
            dy.count == g.outputCount, "conv2dBackwardInput: dy has \(dy.count) elements, (N,K,Ho,Wo) needs \(g.outputCount)")
        precondition(
            w.count == g.weightCount, "conv2dBackwardInput: w has \(w.count) elements, (K,C/G,R,S) needs \(g.weightCount)")
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
        _ x: [Float], _ dy: [Float], _ g: Conv2DGeometry, algorithm: Conv2DAlgorithm = .automatic
    ) -> [Float] {
        checkConv(g, "conv2dBackwardFilter")
        precondition(
            x.count == g.inputCount, "conv2dBackwardFilter: x has \(x.count) elements, (N,C,H,W) needs \(g.inputCount)")
        precondition(
            dy.count == g.outputCount,
            "conv2dBackwardFilter: dy has \(dy.count) elements, (N,K,Ho,Wo) needs \(g.outputCount)")
        let pointwise = g.isPointwise && (algorithm == .automatic || algorithm == .pointwise)
        return [Float](unsafeUninitializedCapacity: g.weightCount) { out, initialized in
            x.withUnsafeBufferPointer { px in
                dy.withUnsafeBufferPointer { pdy in
                    guard let px = px.baseAddress, let pdy = pdy.baseAddress, let pdw = out.baseAddress else { return }
                    if pointwise {
                        conv2dPointwiseBackwardFilter(px, pdy, pdw, g)
                    } else {
                        conv2dIm2colBackwardFilter(px, pdy, pdw, g)
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
            // The direct kernel wastes the (S−1)·dilation junk columns of each padded row and the
            // rounding of a plane to 24 positions; on small planes im2col + GEMM wins.
            if g.isUnitStride && g.outPerGroup >= 4 && g.outHeight * g.outWidth >= 100 { return .direct }
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
            if directApplies && g.inPerGroup >= 4 && g.height * g.width >= 100 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return directApplies ? .direct : .im2col
        case .im2col: return .im2col
        }
    }
}

/// Calls `body` with the base address of `array`, or with `nil` when `array` is `nil` or empty.
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

// MARK: - Pointwise (1×1, stride 1, unpadded): per image and group, a GEMM straight on x.

extension Kernels {
    /// y[n,g] (K/G, HW) = w_g (K/G, C/G) × x[n,g] (C/G, HW) + bias.
    static func conv2dPointwise(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false, transposeB: false, M: kg, N: hw, K: cg, alpha: 1,
                    a: w + gi * kg * cg, lda: cg, b: x + (n * g.inChannels + gi * cg) * hw, ldb: hw,
                    beta: 0, c: y + (n * g.outChannels + gi * kg) * hw, ldc: hw)
            }
        }
        if let bias { addChannelBias(y, bias, planes: g.batch * g.outChannels, channels: g.outChannels, size: hw) }
    }

    /// dx[n,g] (C/G, HW) = w_gᵀ (C/G, K/G) × dy[n,g] (K/G, HW).
    static func conv2dPointwiseBackwardInput(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: true, transposeB: false, M: cg, N: hw, K: kg, alpha: 1,
                    a: w + gi * kg * cg, lda: cg, b: dy + (n * g.outChannels + gi * kg) * hw, ldb: hw,
                    beta: 0, c: dx + (n * g.inChannels + gi * cg) * hw, ldc: hw)
            }
        }
    }

    /// dw_g (K/G, C/G) = Σₙ dy[n,g] (K/G, HW) × x[n,g]ᵀ (HW, C/G).
    static func conv2dPointwiseBackwardFilter(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry
    ) {
        let hw = g.height * g.width
        let cg = g.inPerGroup
        let kg = g.outPerGroup
        for n in 0..<g.batch {
            for gi in 0..<g.groups {
                gemm(
                    transposeA: false, transposeB: true, M: kg, N: cg, K: hw, alpha: 1,
                    a: dy + (n * g.outChannels + gi * kg) * hw, lda: hw, b: x + (n * g.inChannels + gi * cg) * hw,
                    ldb: hw, beta: n == 0 ? 0 : 1, c: dw + gi * kg * cg, ldc: cg)
            }
        }
    }

    /// y[p, c, i] += bias[c] for `planes` planes of `size` elements, plane p having channel p % channels.
    static func addChannelBias(
        _ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, planes: Int, channels: Int, size: Int
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

// MARK: - Direct stride-1 convolution on flat padded planes.
//
// A channel's input is copied into a zero-padded plane of Hp rows × Wp columns. Read flat, output
// position p = oh·Wp + ow' takes tap (r,s) from xpad[p + r·dH·Wp + s·dW], so for a run of
// consecutive p every tap is one contiguous vector. Columns ow' ≥ Wo (and p past Ho·Wp, rounded up
// to the register block) are junk and are dropped when the result is copied out.

/// A stride-1 convolution as the direct kernel sees it: x is (N, G·inPerGroup, H, W), the weights
/// are packed as (G, ⌈outPerGroup/4⌉, inPerGroup·R·S, 4), y is (N, G·outPerGroup, Ho, Wo).
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

    /// Output positions per register block (3 SIMD8 vectors).
    static let blockPositions = 24

    var paddedH: Int { height + padTop + padBottom }
    var paddedW: Int { width + padLeft + padRight }
    var outH: Int { paddedH - dilationH * (kernelH - 1) }
    var outW: Int { paddedW - dilationW * (kernelW - 1) }
    /// Output channel blocks of 4 per group.
    var channelBlocks: Int { (outPerGroup + 3) / 4 }
    /// Ho·Wp flat positions, of which Ho·Wo are kept.
    var flatCount: Int { outH * paddedW }
    var positionBlocks: Int { (flatCount + Self.blockPositions - 1) / Self.blockPositions }
    var flatRounded: Int { positionBlocks * Self.blockPositions }
    /// Floats per padded plane, with room for the junk reads of the last block.
    var planeStride: Int { paddedH * paddedW + (flatRounded - flatCount) + dilationW * (kernelW - 1) }
    /// inPerGroup·R·S.
    var taps: Int { inPerGroup * kernelH * kernelW }
    var packedCount: Int { groups * channelBlocks * taps * 4 }
}

extension Kernels {
    static func conv2dDirect(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry
    ) {
        let plan = DirectConvPlan(
            batch: g.batch, groups: g.groups, inPerGroup: g.inPerGroup, outPerGroup: g.outPerGroup,
            height: g.height, width: g.width, kernelH: g.kernelHeight, kernelW: g.kernelWidth,
            dilationH: g.dilationH, dilationW: g.dilationW,
            padTop: g.padTop, padLeft: g.padLeft, padBottom: g.padBottom, padRight: g.padRight)
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
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry
    ) {
        let eh = g.dilationH * (g.kernelHeight - 1)
        let ew = g.dilationW * (g.kernelWidth - 1)
        let plan = DirectConvPlan(
            batch: g.batch, groups: g.groups, inPerGroup: g.outPerGroup, outPerGroup: g.inPerGroup,
            height: g.outHeight, width: g.outWidth, kernelH: g.kernelHeight, kernelW: g.kernelWidth,
            dilationH: g.dilationH, dilationW: g.dilationW,
            padTop: eh - g.padTop, padLeft: ew - g.padLeft, padBottom: eh - g.padBottom, padRight: ew - g.padRight)
        precondition(
            plan.outH == g.height && plan.outW == g.width,
            "conv2dBackwardInput: transposed plan gives \(plan.outH)×\(plan.outW), expected \(g.height)×\(g.width)")
        let kg = g.outPerGroup
        let cg = g.inPerGroup
        let r = g.kernelHeight
        let s = g.kernelWidth
        // packed[gi][cb][k·R·S + r'·S + s'][j] = w[gi·K/G + k][4·cb + j][R−1−r'][S−1−s'].
        var packed = [Float](repeating: 0, count: plan.packedCount)
        packed.withUnsafeMutableBufferPointer { pp in
            for gi in 0..<g.groups {
                for c in 0..<cg {
                    let dst = (gi * plan.channelBlocks + c / 4) * plan.taps * 4 + c % 4
                    for k in 0..<kg {
                        let src = ((gi * kg + k) * cg + c) * r * s
                        for t in 0..<r * s {
                            pp[dst + (k * r * s + t) * 4] = w[src + r * s - 1 - t]
                        }
                    }
                }
            }
        }
        packed.withUnsafeBufferPointer { pp in
            guard let pw = pp.baseAddress else { return }
            directConvolution(dy, pw, nil, dx, plan)
        }
    }

    /// y = conv(x, packed) + bias for a stride-1 plan. Work items are (image, group, run of
    /// position blocks); each thread keeps one padded copy of a group's planes and one result buffer.
    static func directConvolution(
        _ x: UnsafePointer<Float>, _ packed: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ plan: DirectConvPlan
    ) {
        let planes = plan.batch * plan.groups
        let splits = min(plan.positionBlocks, max(1, (EngineThreads.count * 2 + planes - 1) / planes))
        let blocksPerSplit = (plan.positionBlocks + splits - 1) / splits
        let inPlane = plan.height * plan.width
        let outPlane = plan.outH * plan.outW
        let cost = plan.taps * plan.channelBlocks * blocksPerSplit * 96
        parallelChunks(planes * splits, costPerItem: cost) { items in
            let xpad = UnsafeMutablePointer<Float>.allocate(capacity: plan.inPerGroup * plan.planeStride)
            xpad.initialize(repeating: 0, count: plan.inPerGroup * plan.planeStride)
            let ybuf = UnsafeMutablePointer<Float>.allocate(capacity: plan.channelBlocks * 4 * plan.flatRounded)
            defer {
                xpad.deallocate()
                ybuf.deallocate()
            }
            var loaded = -1
            for item in items {
                let image = item / splits  // n·G + gi
                let gi = image % plan.groups
                let n = image / plan.groups
                if loaded != image {
                    // Interior of each padded plane; the zero border was written once above.
                    for c in 0..<plan.inPerGroup {
                        let src = x + ((n * plan.groups + gi) * plan.inPerGroup + c) * inPlane
                        let dst = xpad + c * plan.planeStride + plan.padTop * plan.paddedW + plan.padLeft
                        for h in 0..<plan.height {
                            (dst + h * plan.paddedW).update(from: src + h * plan.width, count: plan.width)
                        }
                    }
                    loaded = image
                }
                let part = item % splits
                let firstBlock = part * blocksPerSplit
                let lastBlock = min(plan.positionBlocks, firstBlock + blocksPerSplit)
                if firstBlock >= lastBlock { continue }
                for pb in firstBlock..<lastBlock {
                    let p = pb * DirectConvPlan.blockPositions
                    for kb in 0..<plan.channelBlocks {
                        directMicroKernel(
                            xpad + p, packed + (gi * plan.channelBlocks + kb) * plan.taps * 4,
                            ybuf + kb * 4 * plan.flatRounded + p, plan)
                    }
                }
                // Copy the kept positions of [firstBlock, lastBlock) out, adding the bias.
                let pEnd = min(lastBlock * DirectConvPlan.blockPositions, plan.flatCount)
                var p = firstBlock * DirectConvPlan.blockPositions
                while p < pEnd {
                    let oh = p / plan.paddedW
                    let ow0 = p - oh * plan.paddedW
                    let rowEnd = min((oh + 1) * plan.paddedW, pEnd)
                    let owEnd = min(rowEnd - oh * plan.paddedW, plan.outW)
                    if ow0 < owEnd {
                        for k in 0..<plan.outPerGroup {
                            let channel = gi * plan.outPerGroup + k
                            let b = bias.map { $0[channel] } ?? 0
                            let src = ybuf + k * plan.flatRounded + oh * plan.paddedW
                            let dst = y + (n * plan.groups * plan.outPerGroup + channel) * outPlane + oh * plan.outW
                            for ow in ow0..<owEnd { dst[ow] = src[ow] + b }
                        }
                    }
                    p = rowEnd
                }
            }
        }
    }

    /// out[j][0..<24] = Σ_(c,r,s) w[c,r,s][j] · xpad[c][r·dH·Wp + s·dW + 0..<24] for j in 0..<4.
    /// `x` points at the block's first position in channel 0, `w` at the block's packed taps,
    /// `out` at row 0 of the result (rows `flatRounded` apart).
    @inline(__always)
    static func directMicroKernel(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        _ plan: DirectConvPlan
    ) {
        typealias V = SIMD8<Float>
        var a00 = V(), a01 = V(), a02 = V()
        var a10 = V(), a11 = V(), a12 = V()
        var a20 = V(), a21 = V(), a22 = V()
        var a30 = V(), a31 = V(), a32 = V()
        var wp = w
        let rowStep = plan.dilationH * plan.paddedW
        let colStep = plan.dilationW
        for c in 0..<plan.inPerGroup {
            var xr = x + c * plan.planeStride
            for _ in 0..<plan.kernelH {
                var xs = UnsafeRawPointer(xr)
                for _ in 0..<plan.kernelW {
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
                    xs += colStep * MemoryLayout<Float>.stride
                }
                xr += rowStep
            }
        }
        let rows = plan.flatRounded
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: a00, toByteOffset: 0, as: V.self)
        o.storeBytes(of: a01, toByteOffset: 32, as: V.self)
        o.storeBytes(of: a02, toByteOffset: 64, as: V.self)
        let o1 = UnsafeMutableRawPointer(out + rows)
        o1.storeBytes(of: a10, toByteOffset: 0, as: V.self)
        o1.storeBytes(of: a11, toByteOffset: 32, as: V.self)
        o1.storeBytes(of: a12, toByteOffset: 64, as: V.self)
        let o2 = UnsafeMutableRawPointer(out + 2 * rows)
        o2.storeBytes(of: a20, toByteOffset: 0, as: V.self)
        o2.storeBytes(of: a21, toByteOffset: 32, as: V.self)
        o2.storeBytes(of: a22, toByteOffset: 64, as: V.self)
        let o3 = UnsafeMutableRawPointer(out + 3 * rows)
        o3.storeBytes(of: a30, toByteOffset: 0, as: V.self)
        o3.storeBytes(of: a31, toByteOffset: 32, as: V.self)
        o3.storeBytes(of: a32, toByteOffset: 64, as: V.self)
    }
}
