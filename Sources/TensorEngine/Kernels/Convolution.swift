import Foundation

// 2-D convolution (cross-correlation, as in ONNX Conv and PyTorch) and its two adjoints.
//
// x is (N,C,H,W), w is (K,C/G,R,S), y is (N,K,Ho,Wo), G groups. Three algorithms:
// - pointwise: 1×1, stride 1, no padding — one GEMM per image and group, straight on x;
// - direct (below): stride 1 — a chunk of zero-padded images is read as one flat grid, so each tap
//   is a shifted contiguous vector, and a 4-channel × 24-position SIMD register block accumulates
//   over (c, r, s) with FMAs. The input gradient is the same kernel on dy with the flipped,
//   transposed filter; the filter gradient is a 4-channel × 3-tap block reducing over positions.
//   Stride 2 runs the same kernels on the input's polyphase planes (PolyphaseSource): as one
//   stride-1 convolution over the planes forward and for the filter, as one stride-1 adjoint per
//   plane for the input gradient;
// - winograd (WinogradConvolution.swift): F(2×2, 3×3) for 3×3 stride-1 convolutions with 32 or
//   more channels on both sides, F(4×4, 3×3) (WinogradF4.swift) for 16 to 31, forward and input
//   gradient (16 products per 2×2 tile and channel pair instead of 36, 36 per 4×4 tile instead of
//   144, on the direct kernel's register blocks); the filter gradient by F(2×2)'s adjoint where the
//   forward takes F(2×2) (WinogradFilterGradient.swift), elsewhere direct. With AVX-512: F(4×4) with
//   channels in the vector lanes for 16, 32 or 64 channels on both sides, also at 14×14
//   (WinogradLanes.swift); the filter gradient by F(2×2)'s adjoint with channels in the lanes at 16 or
//   32 channels, else for 3×3 stride-1 or stride-2 convolutions with 16k output channels direct with
//   the output channels in the lanes (DirectConvolutionFilter.swift);
// - im2col (Im2Col.swift): everything else — columns for a chunk of images, one GEMM per group.
//
// Measured at batch 128 on the 2-core AVX2 machine (see DESIGN.md), the direct kernel runs the
// ResNet-20 stride-1 3×3 convolutions at 125–150 GFLOP/s against 60–85 for im2col + sgemm.

extension Kernels {
    /// y = conv2d(x, w) + bias, then `epilogue`: + residual, then max(·, 0). x is (N,C,H,W), w is
    /// (K,C/G,R,S), bias is (K), residual is (N,K,Ho,Wo) → y is (N,K,Ho,Wo). The epilogue runs as
    /// the direct kernel copies its results out (no extra pass) and as one pass after the other
    /// algorithms; its sums are those of the separate ops, in the same order. `simd` chooses the
    /// direct kernel's register blocks (tests compare both; an AVX-512 request on a CPU without it
    /// runs AVX2).
    public static func conv2d(
        _ x: [Float],
        _ w: [Float],
        bias: [Float]?,
        _ g: Conv2DGeometry,
        residual: [Float]? = nil,
        relu: Bool = false,
        algorithm: Conv2DAlgorithm = .automatic,
        simd: SIMDLevel = .active
    ) -> [Float] {
        checkConv(g, "conv2d")
        precondition(x.count == g.inputCount, "conv2d: x has \(x.count) elements, (N,C,H,W) needs \(g.inputCount)")
        precondition(w.count == g.weightCount, "conv2d: w has \(w.count) elements, (K,C/G,R,S) needs \(g.weightCount)")
        if let bias {
            precondition(bias.count == g.outChannels, "conv2d: bias has \(bias.count) elements, K = \(g.outChannels)")
        }
        if let residual {
            precondition(
                residual.count == g.outputCount,
                "conv2d: residual has \(residual.count) elements, (N,K,Ho,Wo) needs \(g.outputCount)"
            )
        }
        let algorithm = resolvedForward(algorithm, g)
        return [Float](unsafeUninitializedCapacity: g.outputCount) { out, initialized in
            x.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    withOptionalPointer(bias) { pb in
                        withOptionalPointer(residual) { pr in
                            guard let px = px.baseAddress, let pw = pw.baseAddress, let py = out.baseAddress else {
                                return
                            }
                            let epilogue = ConvEpilogue(residual: pr, relu: relu)
                            switch algorithm {
                            case .pointwise: conv2dPointwise(px, pw, pb, py, g)
                            case .direct: conv2dDirect(px, pw, pb, py, g, epilogue: epilogue, simd: simd.supported)
                            case .winograd, .winograd4:
                                let tile = algorithm == .winograd4 ? 4 : 2
                                conv2dWinograd(px, pw, pb, py, g, tile: tile, epilogue: epilogue, simd: simd.supported)
                            case .im2col, .automatic: conv2dIm2col(px, pw, pb, py, g)
                            }
                            if algorithm != .direct && algorithm != .winograd && algorithm != .winograd4 {
                                epilogue.apply(py, count: g.outputCount)
                            }
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
        algorithm: Conv2DAlgorithm = .automatic,
        simd: SIMDLevel = .active
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
                    case .direct where !g.isUnitStride:
                        conv2dPolyphaseBackwardInput(pdy, pw, pdx, g, simd: simd.supported)
                    case .direct: conv2dDirectBackwardInput(pdy, pw, pdx, g, simd: simd.supported)
                    case .winograd: conv2dWinogradBackwardInput(pdy, pw, pdx, g, simd: simd.supported)
                    case .winograd4: conv2dWinogradBackwardInput(pdy, pw, pdx, g, tile: 4, simd: simd.supported)
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
        algorithm: Conv2DAlgorithm = .automatic,
        simd: SIMDLevel = .active
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
        let algorithm = resolvedBackwardFilter(algorithm, g, simd: simd.supported)
        return [Float](unsafeUninitializedCapacity: g.weightCount) { out, initialized in
            x.withUnsafeBufferPointer { px in
                dy.withUnsafeBufferPointer { pdy in
                    guard let px = px.baseAddress, let pdy = pdy.baseAddress, let pdw = out.baseAddress else { return }
                    switch algorithm {
                    case .pointwise: conv2dPointwiseBackwardFilter(px, pdy, pdw, g)
                    case .direct: conv2dDirectBackwardFilter(px, pdy, pdw, g, simd: simd.supported)
                    case .winograd, .winograd4: conv2dWinogradBackwardFilter(px, pdy, pdw, g, simd: simd.supported)
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
            // ResNet-20 stride-1 shape (7×7 to 28×28 planes), despite its junk positions; stride 2
            // runs as stride 1 on polyphase planes (PolyphaseSource), except a strided 1×1 (a
            // downsampling shortcut), no faster there than a subsampling copy and one GEMM.
            let stridedPointwise = !g.isUnitStride && g.kernelHeight * g.kernelWidth == 1
            if let winograd = g.winogradChoice { return winograd }
            if g.directForwardApplies && !stridedPointwise && g.outPerGroup >= 4 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return g.directForwardApplies ? .direct : .im2col
        case .winograd, .winograd4: return g.winogradApplies ? a : .im2col
        case .im2col: return .im2col
        }
    }

    static func resolvedBackwardFilter(
        _ a: Conv2DAlgorithm,
        _ g: Conv2DGeometry,
        simd: SIMDLevel = SIMDLevel.active.supported
    ) -> Conv2DAlgorithm {
        switch a {
        case .automatic:
            if g.isPointwise { return .pointwise }
            // As in the forward: a strided 1×1 stays a subsampling copy and one GEMM.
            let stridedPointwise = !g.isUnitStride && g.kernelHeight * g.kernelWidth == 1
            // F(2×2)'s adjoint where the forward takes F(2×2) (32→32 @14: 1.25× the direct kernel on
            // the AVX2 host); at 16→16 @28 it ran 0.78×, at 64→64 @7 0.89× (EngineBench --only
            // winograd, 2026-12-05). With AVX-512 the direct kernel with output channels in the lanes
            // beats it at all three (32→32 @14: 1.16 against 1.74 ms, 2026-12-05, Zen 5).
            let lanes = simd == .avx512 && g.laneFilterGradientApplies
            if g.winogradChoice == .winograd && !lanes { return .winograd }
            // With AVX-512 and 16 or 32 channels, F(2×2)'s adjoint with channels in the lanes beats
            // the direct lane kernel (WinogradLanes.swift).
            if g.winogradApplies
                && winogradLaneFilterGradientApplies(inChannels: g.inChannels, outChannels: g.outChannels, simd: simd)
            {
                return .winograd
            }
            if g.directForwardApplies && !stridedPointwise && g.outPerGroup >= 4 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return g.directForwardApplies ? .direct : .im2col
        // F(2×2, 3×3)'s adjoint for both Winograd variants: F(4×4)'s was no faster (speedups.md).
        case .winograd, .winograd4:
            if g.winogradApplies { return .winograd }
            return g.directForwardApplies ? .direct : .im2col
        case .im2col: return .im2col
        }
    }

    static func resolvedBackwardInput(_ a: Conv2DAlgorithm, _ g: Conv2DGeometry) -> Conv2DAlgorithm {
        let unitStrideDirect =
            g.isUnitStride && g.padTop <= g.dilationH * (g.kernelHeight - 1)
            && g.padBottom <= g.dilationH * (g.kernelHeight - 1) && g.padLeft <= g.dilationW * (g.kernelWidth - 1)
            && g.padRight <= g.dilationW * (g.kernelWidth - 1)
        let polyphase = polyphaseBackwardInputApplies(g)
        let directApplies = unitStrideDirect || polyphase
        switch a {
        case .automatic:
            if g.isPointwise { return .pointwise }
            if let winograd = g.winogradChoice, g.winogradBackwardInputApplies { return winograd }
            if unitStrideDirect && g.inPerGroup >= 4 { return .direct }
            // Stride 2 as one stride-1 adjoint per polyphase plane beat col2im from 14×14 outputs on
            // and lost at 7×7 (four small sub-convolutions and the scatter; EngineBench, 2026-12-04).
            if polyphase && g.inPerGroup >= 4 && g.outHeight * g.outWidth >= 100 { return .direct }
            return .im2col
        case .pointwise: return g.isPointwise ? .pointwise : .im2col
        case .direct: return directApplies ? .direct : .im2col
        case .winograd, .winograd4: return g.winogradBackwardInputApplies ? a : .im2col
        case .im2col: return .im2col
        }
    }
}

extension Conv2DGeometry {
    /// The Winograd variant that beats the direct kernel on a 3×3 stride-1 convolution, if one does:
    /// F(4×4, 3×3) from 16 channels on both sides, except that from 32 channels F(2×2, 3×3) takes the
    /// outputs whose sides F(4×4)'s tiles would overshoot more than F(2×2)'s (14×14: 16×16 computed
    /// against 14×14). Measured at batch 128 on the 2-core AVX2 machine (EngineBench --only winograd,
    /// forward and input gradient alike), speed relative to the direct kernel:
    ///
    ///     shape          F(2×2)      F(4×4)
    ///     16→16 @28      0.87–0.96×  1.13–1.16×   (2026-12-04)
    ///     32→32 @14      1.34–1.41×  1.22–1.30×   (2026-12-05)
    ///     64→64 @7       1.27–1.34×  1.44–1.50×   (2026-12-05, the filter transforms in parallel)
    ///     1→16 stem      0.6–0.7×    0.4–0.6×     (2026-12-04)
    ///
    /// Below 16 channels the transforms cost more than the products they save. `RKD_WINOGRAD=0` turns
    /// Winograd off, `RKD_WINOGRAD4=0` F(4×4) alone (for comparisons).
    var winogradChoice: Conv2DAlgorithm? {
        guard winogradEnabled && winogradApplies else { return nil }
        let channels = min(inChannels, outChannels)
        guard channels >= 16 else { return nil }
        guard winograd4Enabled else { return channels >= 32 ? .winograd : nil }
        if channels < 32 { return .winograd4 }
        // With AVX-512, F(4×4) with channels in the lanes (WinogradLanes.swift) wins wherever it runs,
        // whatever its tiles overshoot: 32→32 @14 0.61 ms against F(2×2)'s 1.17 (EngineBench --only
        // winograd, 2026-12-05, Zen 5).
        if winogradLanesApply(inChannels: inChannels, outChannels: outChannels, simd: SIMDLevel.active.supported) {
            return .winograd4
        }
        func covered(_ tile: Int) -> Int {
            (outHeight + tile - 1) / tile * tile * ((outWidth + tile - 1) / tile * tile)
        }
        return covered(4) <= covered(2) ? .winograd4 : .winograd
    }

    /// The direct forward and filter-gradient kernels run it: stride 1, or stride 2 on polyphase planes.
    var directForwardApplies: Bool {
        isUnitStride || PolyphaseSource.plan(self, targetPositions: 1, simd: .avx2) != nil
    }
}

/// False when `RKD_WINOGRAD=0`: the automatic choice then never picks Winograd.
private let winogradEnabled = ProcessInfo.processInfo.environment["RKD_WINOGRAD"] != "0"
/// False when `RKD_WINOGRAD4=0`: the automatic choice then never picks F(4×4, 3×3).
private let winograd4Enabled = ProcessInfo.processInfo.environment["RKD_WINOGRAD4"] != "0"

/// Calls `body` with the base address of `array`, or with `nil` when `array` is `nil` or empty.
private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// What a forward convolution does to each result before storing it: y = act(conv + bias + residual),
/// act being max(·, 0) (NaN kept, as `Kernels.relu`) or the identity.
struct ConvEpilogue {
    /// (N,K,Ho,Wo), added after the bias.
    var residual: UnsafePointer<Float>?
    var relu: Bool

    static var none: ConvEpilogue { ConvEpilogue(residual: nil, relu: false) }

    var isIdentity: Bool { residual == nil && !relu }

    /// dst[i] = act(src[i] + bias + residual[i]) for i in 0..<count, residual read from `offset`
    /// (dst and src, or dst and the residual, may be the same buffer).
    ///
    /// Vectors of 8, the last overlapping the one before it when count is not a multiple of 8: that
    /// vector is computed from the inputs before any store, so that in place it still reads them
    /// unchanged, and the entries it shares with the last whole vector get the same values twice.
    /// (Left to the auto-vectoriser, this loop ran on 4-lane vectors behind alias checks: at 28
    /// columns the stores of the Winograd output transforms took a third of their time.)
    @inline(__always)
    func store(
        _ src: UnsafePointer<Float>,
        bias: Float,
        _ dst: UnsafeMutablePointer<Float>,
        offset: Int,
        count: Int
    ) {
        typealias V8 = SIMD8<Float>
        guard count >= 8 else {
            if count >= 4 {
                storeShort(src, bias: bias, dst, offset: offset, count: count)
            } else {
                storeScalars(src, bias: bias, dst, offset: offset, count: count)
            }
            return
        }
        let r = residual.map { UnsafeRawPointer($0 + offset) }
        let from = UnsafeRawPointer(src)
        let to = UnsafeMutableRawPointer(dst)
        let relu = relu
        @inline(__always)
        func value(_ byte: Int) -> V8 {
            var v = from.loadUnaligned(fromByteOffset: byte, as: V8.self) + bias
            if let r { v += r.loadUnaligned(fromByteOffset: byte, as: V8.self) }
            // max(v, 0) that keeps NaN: only entries below zero are replaced.
            return relu ? v.replacing(with: 0, where: v .< 0) : v
        }
        let lastByte = 4 * (count - 8)
        let last = value(lastByte)
        var byte = 0
        while byte < lastByte {
            to.storeBytes(of: value(byte), toByteOffset: byte, as: V8.self)
            byte += 32
        }
        to.storeBytes(of: last, toByteOffset: lastByte, as: V8.self)
    }

    /// `store` for 4 to 7 entries (a 7×7 output's rows): two vectors of 4, the second ending at the
    /// last entry and overlapping the first, both computed before either is stored. (Its vector step
    /// repeats `store`'s on purpose: one generic helper for both widths was not specialised into them,
    /// and the PGD-7 adversarial-training step, whose eval-mode convolutions store through here, ran
    /// at 181–193 instead of 332–348 images/s; AttackBench --only train, alternated, 2026-12-05.)
    @inline(__always)
    private func storeShort(
        _ src: UnsafePointer<Float>,
        bias: Float,
        _ dst: UnsafeMutablePointer<Float>,
        offset: Int,
        count: Int
    ) {
        typealias V4 = SIMD4<Float>
        let r = residual.map { UnsafeRawPointer($0 + offset) }
        let from = UnsafeRawPointer(src)
        let relu = relu
        @inline(__always)
        func value(_ byte: Int) -> V4 {
            var v = from.loadUnaligned(fromByteOffset: byte, as: V4.self) + bias
            if let r { v += r.loadUnaligned(fromByteOffset: byte, as: V4.self) }
            return relu ? v.replacing(with: 0, where: v .< 0) : v
        }
        let lastByte = 4 * (count - 4)
        let (head, tail) = (value(0), value(lastByte))
        let to = UnsafeMutableRawPointer(dst)
        to.storeBytes(of: head, as: V4.self)
        to.storeBytes(of: tail, toByteOffset: lastByte, as: V4.self)
    }

    /// `store` one entry at a time (for rows shorter than a vector).
    @inline(__always)
    private func storeScalars(
        _ src: UnsafePointer<Float>,
        bias: Float,
        _ dst: UnsafeMutablePointer<Float>,
        offset: Int,
        count: Int
    ) {
        for i in 0..<count {
            var v = src[i] + bias
            if let residual { v += residual[offset + i] }
            dst[i] = relu && v < 0 ? 0 : v
        }
    }

    /// Applies the epilogue in place to y (the bias already added), in parallel.
    func apply(_ y: UnsafeMutablePointer<Float>, count: Int) {
        guard !isIdentity else { return }
        parallelChunks(count, costPerItem: 1) { range in
            let p = y + range.lowerBound
            store(p, bias: 0, p, offset: range.lowerBound, count: range.count)
        }
    }
}
