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
        var dx = [Float](repeating: 0, count: g.count)
        var sumG = [Float](repeating: 0, count: C)
        var sumGXhat = [Float](repeating: 0, count: C)
        let M = Float(N * S)
        g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                dx.withUnsafeMutableBufferPointer { pdx in
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
                                    for n in 0..<N {
                                        let base = (n * C + c) * S
                                        for i in 0..<S {
                                            pdx[base + i] =
                                                k * (pg[base + i] - meanG - (px[base + i] - mu) * coefficient)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, sumG, sumGXhat)
    }
}
