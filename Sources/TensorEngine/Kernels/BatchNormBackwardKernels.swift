// The training-mode batch-norm derivative in two passes per channel.
// x and g are (N,C,S) with S the spatial size; mean, invStd and scale are (C); M = N·S.
//   x̂ = (x − mean)·invStd
//   dx = scale·invStd·(g − Σg/M − x̂·Σ(g·x̂)/M)

extension Kernels {
    /// Returns dx (N,C,S) and the per-channel sums Σg and Σg·x̂ (which are d offset and d scale).
    public static func batchNormBackward(
        _ g: [Float],
        _ x: [Float],
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean: [Float],
        invStd: [Float],
        scale: [Float]
    ) -> (dx: [Float], sumG: [Float], sumGXhat: [Float]) {
        precondition(
            g.count == N * C * S && x.count == g.count && mean.count == C && invStd.count == C && scale.count == C,
            "batchNormBackward: g \(g.count), x \(x.count) for N=\(N) C=\(C) S=\(S)"
        )
        var sumG = [Float](repeating: 0, count: C)
        var sumGXhat = [Float](repeating: 0, count: C)
        let M = Float(N * S)
        let dx = [Float](unsafeUninitializedCapacity: g.count) { pdx, initialized in
            g.withUnsafeBufferPointer { pg in
                x.withUnsafeBufferPointer { px in
                    sumG.withUnsafeMutableBufferPointer { psg in
                        sumGXhat.withUnsafeMutableBufferPointer { psgx in
                            parallelChunks(C, costPerItem: N * S * 4) { channels in
                                for c in channels {
                                    // Pass 1: Σg and Σg·(x − mean), accumulated in Double.
                                    var sg = 0.0
                                    var sgx = 0.0
                                    let mu = mean[c]
                                    for n in 0..<N {
                                        let base = (n * C + c) * S
                                        var a = SIMD8<Float>()
                                        var b = SIMD8<Float>()
                                        var i = 0
                                        while i + 8 <= S {
                                            let gv = loadVector8(pg, base + i)
                                            let xv = loadVector8(px, base + i)
                                            a += gv
                                            b += gv * (xv - mu)
                                            i += 8
                                        }
                                        var ra = a.sum()
                                        var rb = b.sum()
                                        while i < S {
                                            ra += pg[base + i]
                                            rb += pg[base + i] * (px[base + i] - mu)
                                            i += 1
                                        }
                                        sg += Double(ra)
                                        sgx += Double(rb)
                                    }
                                    let inv = invStd[c]
                                    let sumGc = Float(sg)
                                    let sumGXhatc = Float(sgx) * inv
                                    psg[c] = sumGc
                                    psgx[c] = sumGXhatc
                                    // Pass 2: dx.
                                    let k = scale[c] * inv
                                    let meanG = sumGc / M
                                    let coefficient = sumGXhatc / M * inv  // multiplies (x − mean)
                                    // Eight at a time (a scalar loop here stayed scalar, with an
                                    // overflow check per element); the same expression per element.
                                    for n in 0..<N {
                                        let base = (n * C + c) * S
                                        var i = base
                                        let end = base + S
                                        while i + 8 <= end {
                                            let v =
                                                k
                                                * (loadVector8(pg, i) - meanG - (loadVector8(px, i) - mu)
                                                    * coefficient)
                                            storeVector8(v, pdx, i)
                                            i += 8
                                        }
                                        while i < end {
                                            pdx[i] = k * (pg[i] - meanG - (px[i] - mu) * coefficient)
                                            i += 1
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
        return (dx, sumG, sumGXhat)
    }
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
