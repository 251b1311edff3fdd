// The training-mode batch-norm derivative in two passes per channel.
// x and g are (N,C,S) with S the spatial size; mean, invStd and scale are (C); M = N·S.
//   x̂ = (x − mean)·invStd
//   dx = scale·invStd·(g − Σg/M − x̂·Σ(g·x̂)/M)

extension Kernels {
    /// Returns dx (N,C,S) and the per-channel sums Σg and Σg·x̂ (which are d offset and d scale).
    ///
    /// With `reluOutput` (a relu's output, of g's shape) the gradient is first taken through that
    /// relu: g is replaced by g where the output is positive and by 0 elsewhere (NaN included), as
    /// `reluGradient(g, reluOutput)` would, but inside the two passes instead of a pass of its own.
    /// With `reluAffine` instead, the relu's input is recomputed from x as `channelAffine` computes
    /// it (x·scale + shift per channel, the same operations, so the same mask) and the output is not
    /// read: one stream fewer in each pass, for a relu that follows batch norm without a residual.
    /// With `keepMasked` the masked g is also returned (a residual branch takes it as its gradient);
    /// without, pass 2 masks again instead of reading a masked copy. The results are the same bits
    /// as `batchNormBackward(reluGradient(g, reluOutput), …)`.
    public static func batchNormBackward(
        _ g: [Float],
        _ x: [Float],
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean: [Float],
        invStd: [Float],
        scale: [Float],
        reluOutput: [Float]? = nil,
        reluAffine: (scale: [Float], shift: [Float])? = nil,
        keepMasked: Bool = false
    ) -> (dx: [Float], sumG: [Float], sumGXhat: [Float], masked: [Float]?) {
        precondition(
            g.count == N * C * S && x.count == g.count && mean.count == C && invStd.count == C && scale.count == C,
            "batchNormBackward: g \(g.count), x \(x.count) for N=\(N) C=\(C) S=\(S)"
        )
        precondition(
            reluOutput.map { $0.count == g.count } ?? (!keepMasked || reluAffine != nil),
            reluOutput == nil
                ? "batchNormBackward: keepMasked needs a relu mask (reluOutput or reluAffine)"
                : "batchNormBackward: the relu output has \(reluOutput?.count ?? 0) elements for \(g.count)"
        )
        precondition(
            reluOutput == nil || reluAffine == nil,
            "batchNormBackward: give the relu's output or its affine input, not both"
        )
        precondition(
            reluAffine.map { $0.scale.count == C && $0.shift.count == C } ?? true,
            "batchNormBackward: reluAffine needs C = \(C) scales and shifts"
        )
        var sumG = [Float](repeating: 0, count: C)
        var sumGXhat = [Float](repeating: 0, count: C)
        // Every element of the masked copy is written by pass 1.
        var masked = keepMasked ? [Float](unsafeUninitializedCapacity: g.count) { $1 = g.count } : nil
        let M = Float(N * S)
        let dx = [Float](unsafeUninitializedCapacity: g.count) { pdx, initialized in
            g.withUnsafeBufferPointer { pg in
                x.withUnsafeBufferPointer { px in
                    withOptionalBuffer(reluOutput) { pm in
                        sumG.withUnsafeMutableBufferPointer { psg in
                            sumGXhat.withUnsafeMutableBufferPointer { psgx in
                                withOptionalMutableBuffer(&masked) { pk in
                                    parallelChunks(C, costPerItem: N * S * 4) { channels in
                                        for c in channels {
                                            let affine = reluAffine.map { (a: $0.scale[c], b: $0.shift[c]) }
                                            let (sumGc, sumGXhatc) = batchNormBackwardSums(
                                                pg,
                                                px,
                                                pm,
                                                affine,
                                                pk,
                                                channel: c,
                                                batch: N,
                                                channels: C,
                                                spatial: S,
                                                mean: mean[c],
                                                invStd: invStd[c]
                                            )
                                            psg[c] = sumGc
                                            psgx[c] = sumGXhatc
                                            // Pass 2 reads the masked copy when there is one.
                                            let k = scale[c] * invStd[c]
                                            batchNormBackwardInput(
                                                pk.map { UnsafeBufferPointer($0) } ?? pg,
                                                px,
                                                pk == nil ? pm : nil,
                                                pk == nil ? affine : nil,
                                                pdx,
                                                channel: c,
                                                batch: N,
                                                channels: C,
                                                spatial: S,
                                                mean: mean[c],
                                                scale: k,
                                                meanG: sumGc / M,
                                                coefficient: sumGXhatc / M * invStd[c]  // multiplies (x − mean)
                                            )
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = g.count
        }
        return (dx, sumG, sumGXhat, masked)
    }

    /// g where `mask` (when given) is positive, 0 elsewhere (NaN included), eight at a time; and where
    /// `affine` (when given: the relu's input x·a + b) is positive.
    @inline(__always)
    static func maskedGradient8(
        _ g: UnsafeBufferPointer<Float>,
        _ mask: UnsafeBufferPointer<Float>?,
        _ affine: (a: Float, b: Float)?,
        _ x: SIMD8<Float>,
        _ i: Int
    ) -> SIMD8<Float> {
        var v = loadVector8(g, i)
        let zero = SIMD8<Float>()
        if let mask { v.replace(with: zero, where: .!(loadVector8(mask, i) .> zero)) }
        if let affine { v.replace(with: zero, where: .!(x * affine.a + affine.b .> zero)) }
        return v
    }

    /// `maskedGradient8` for one element.
    @inline(__always)
    static func maskedGradient(
        _ g: UnsafeBufferPointer<Float>,
        _ mask: UnsafeBufferPointer<Float>?,
        _ affine: (a: Float, b: Float)?,
        _ x: Float,
        _ i: Int
    ) -> Float {
        if let mask, !(mask[i] > 0) { return 0 }
        if let affine, !(x * affine.a + affine.b > 0) { return 0 }
        return g[i]
    }

    /// Pass 1 of one channel: Σg and Σg·x̂, accumulated per plane in Float and over planes in Double,
    /// g masked by `mask` or `affine` and the masked values stored into `keep` when given.
    @inline(__always)
    static func batchNormBackwardSums(
        _ pg: UnsafeBufferPointer<Float>,
        _ px: UnsafeBufferPointer<Float>,
        _ pm: UnsafeBufferPointer<Float>?,
        _ affine: (a: Float, b: Float)?,
        _ pk: UnsafeMutableBufferPointer<Float>?,
        channel c: Int,
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean mu: Float,
        invStd: Float
    ) -> (sumG: Float, sumGXhat: Float) {
        var sg = 0.0
        var sgx = 0.0
        for n in 0..<N {
            let base = (n * C + c) * S
            var a = SIMD8<Float>()
            var b = SIMD8<Float>()
            var i = 0
            while i + 8 <= S {
                let xv = loadVector8(px, base + i)
                let gv = maskedGradient8(pg, pm, affine, xv, base + i)
                if let pk { storeVector8(gv, pk, base + i) }
                a += gv
                b += gv * (xv - mu)
                i += 8
            }
            var ra = a.sum()
            var rb = b.sum()
            while i < S {
                let gv = maskedGradient(pg, pm, affine, px[base + i], base + i)
                pk?[base + i] = gv
                ra += gv
                rb += gv * (px[base + i] - mu)
                i += 1
            }
            sg += Double(ra)
            sgx += Double(rb)
        }
        return (Float(sg), Float(sgx) * invStd)
    }

    /// Pass 2 of one channel: dx = k·(g − meanG − (x − mean)·coefficient), g masked by `mask` or
    /// `affine` when given; eight at a time (a scalar loop here stayed scalar, with an overflow check per element),
    /// the same expression per element. Planes run last to first: pass 1 has just read them first to
    /// last, and a channel's streams (1.2 MB at 16 channels of 28×28 × 128) outgrow a 1 MB L2, so in
    /// pass 1's order every read would miss where in reverse the most recent planes are still cached.
    @inline(__always)
    static func batchNormBackwardInput(
        _ pg: UnsafeBufferPointer<Float>,
        _ px: UnsafeBufferPointer<Float>,
        _ pm: UnsafeBufferPointer<Float>?,
        _ affine: (a: Float, b: Float)?,
        _ pdx: UnsafeMutableBufferPointer<Float>,
        channel c: Int,
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean mu: Float,
        scale k: Float,
        meanG: Float,
        coefficient: Float
    ) {
        for n in (0..<N).reversed() {
            let base = (n * C + c) * S
            var i = base
            let end = base + S
            while i + 8 <= end {
                let xv = loadVector8(px, i)
                let gv = maskedGradient8(pg, pm, affine, xv, i)
                storeVector8(k * (gv - meanG - (xv - mu) * coefficient), pdx, i)
                i += 8
            }
            while i < end {
                let gv = maskedGradient(pg, pm, affine, px[i], i)
                pdx[i] = k * (gv - meanG - (px[i] - mu) * coefficient)
                i += 1
            }
        }
    }
}

/// Runs `body` with a mutable buffer of `array`'s elements, or with nil when there is no array.
@inline(__always)
func withOptionalMutableBuffer<R>(_ array: inout [Float]?, _ body: (UnsafeMutableBufferPointer<Float>?) -> R) -> R {
    guard var elements = array else { return body(nil) }
    // Moved out and back, so that the buffer stays uniquely referenced (no copy on write).
    array = nil
    defer { array = elements }
    return elements.withUnsafeMutableBufferPointer { body($0) }
}

extension Kernels {
    /// The vector–Jacobian product of training batch norm's input gradient
    /// dx = γ·s·(g − mean(g) − x̂·mean(g·x̂)) (per channel, s = 1/√(σ² + ε), x̂ = (x − μ)·s, the
    /// means over batch and space, μ and σ² the batch statistics of x) with an upstream h of dx's
    /// shape: the second-order step of a double backward through batch norm, in two passes instead
    /// of the composed ops' dozens. With m the elements per channel, a = mean(g), b = mean(g·x̂),
    /// c = mean(h), d = mean(h·x̂) and A = mean(h·g) − c·a:
    ///
    ///     d g = γ·s·(h − c − x̂·d)            (the map g ↦ dx is self-adjoint)
    ///     d x = γ·s²·(x̂·(3·b·d − A) − d·(g − a) − b·(h − c))
    ///     d γ = m·s·(A − b·d)
    ///
    /// Sums are accumulated in Double per channel. `mean` and `invStd` are the forward pass's.
    public static func batchNormInputGradientBackward(
        _ h: [Float],
        _ g: [Float],
        _ x: [Float],
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean: [Float],
        invStd: [Float],
        scale: [Float]
    ) -> (dg: [Float], dx: [Float], dScale: [Float]) {
        precondition(
            h.count == N * C * S && g.count == h.count && x.count == h.count && mean.count == C
                && invStd.count == C && scale.count == C,
            "batchNormInputGradientBackward: h \(h.count), g \(g.count), x \(x.count) for N=\(N) C=\(C) S=\(S)"
        )
        var dg = [Float](repeating: 0, count: h.count)
        var dx = [Float](repeating: 0, count: h.count)
        var dScale = [Float](repeating: 0, count: C)
        let m = Double(N * S)
        h.withUnsafeBufferPointer { ph in
            g.withUnsafeBufferPointer { pg in
                x.withUnsafeBufferPointer { px in
                    dg.withUnsafeMutableBufferPointer { pdg in
                        dx.withUnsafeMutableBufferPointer { pdx in
                            dScale.withUnsafeMutableBufferPointer { pds in
                                parallelChunks(C, costPerItem: N * S * 8) { channels in
                                    for c in channels {
                                        let mu = mean[c]
                                        let s = invStd[c]
                                        // Pass 1: Σg, Σh, Σg·x̂, Σh·x̂, Σh·g.
                                        var sums = (g: 0.0, h: 0.0, gx: 0.0, hx: 0.0, hg: 0.0)
                                        for n in 0..<N {
                                            let base = (n * C + c) * S
                                            var vg = SIMD8<Float>()
                                            var vh = SIMD8<Float>()
                                            var vgx = SIMD8<Float>()
                                            var vhx = SIMD8<Float>()
                                            var vhg = SIMD8<Float>()
                                            var i = 0
                                            while i + 8 <= S {
                                                let gv = loadVector8(pg, base + i)
                                                let hv = loadVector8(ph, base + i)
                                                let xhat = (loadVector8(px, base + i) - mu) * s
                                                vg += gv
                                                vh += hv
                                                vgx += gv * xhat
                                                vhx += hv * xhat
                                                vhg += hv * gv
                                                i += 8
                                            }
                                            var rg = vg.sum()
                                            var rh = vh.sum()
                                            var rgx = vgx.sum()
                                            var rhx = vhx.sum()
                                            var rhg = vhg.sum()
                                            while i < S {
                                                let gv = pg[base + i]
                                                let hv = ph[base + i]
                                                let xhat = (px[base + i] - mu) * s
                                                rg += gv
                                                rh += hv
                                                rgx += gv * xhat
                                                rhx += hv * xhat
                                                rhg += hv * gv
                                                i += 1
                                            }
                                            sums.g += Double(rg)
                                            sums.h += Double(rh)
                                            sums.gx += Double(rgx)
                                            sums.hx += Double(rhx)
                                            sums.hg += Double(rhg)
                                        }
                                        let a = sums.g / m
                                        let b = sums.gx / m
                                        let cc = sums.h / m
                                        let d = sums.hx / m
                                        let bigA = sums.hg / m - cc * a
                                        let gamma = Double(scale[c])
                                        pds[c] = Float(m * Double(s) * (bigA - b * d))
                                        // Pass 2: d g and d x, affine in (x̂, g, h) per channel.
                                        let kg = Float(gamma * Double(s))
                                        let ks = gamma * Double(s) * Double(s)
                                        let xCoefficient = Float(ks * (3 * b * d - bigA))
                                        let gCoefficient = Float(-ks * d)
                                        let hCoefficient = Float(-ks * b)
                                        let constant = Float(ks * (d * a + b * cc))
                                        let fc = Float(cc)
                                        let fd = Float(d)
                                        for n in 0..<N {
                                            let base = (n * C + c) * S
                                            for i in 0..<S {
                                                let xhat = (px[base + i] - mu) * s
                                                let hv = ph[base + i]
                                                pdg[base + i] = kg * (hv - fc - xhat * fd)
                                                pdx[base + i] =
                                                    xCoefficient * xhat + gCoefficient * pg[base + i] + hCoefficient
                                                    * hv
                                                    + constant
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dg, dx, dScale)
    }
}
