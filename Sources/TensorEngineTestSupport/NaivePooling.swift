import TensorEngine

extension NaiveKernels {
    /// Max over each window of x, taps outside the input skipped; argmax is the flat index into x of
    /// the first maximum in row-major window order. x is (N,C,H,W) → (N,C,Ho,Wo).
    public static func maxPool2d(_ x: [Float], _ g: Pool2DGeometry) -> (values: [Float], argmax: [Int32]) {
        let ho = g.outHeight
        let wo = g.outWidth
        var values = [Float](repeating: 0, count: g.batch * g.channels * ho * wo)
        var argmax = [Int32](repeating: -1, count: values.count)
        for plane in 0..<g.batch * g.channels {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    var best = -Float.infinity
                    var bestIndex = -1
                    for r in 0..<g.kernelHeight {
                        let ih = oh * g.strideH - g.padTop + r * g.dilationH
                        if ih < 0 || ih >= g.height { continue }
                        for s in 0..<g.kernelWidth {
                            let iw = ow * g.strideW - g.padLeft + s * g.dilationW
                            if iw < 0 || iw >= g.width { continue }
                            let i = (plane * g.height + ih) * g.width + iw
                            if bestIndex < 0 || x[i] > best {
                                best = x[i]
                                bestIndex = i
                            }
                        }
                    }
                    values[(plane * ho + oh) * wo + ow] = best
                    argmax[(plane * ho + oh) * wo + ow] = Int32(bestIndex)
                }
            }
        }
        return (values, argmax)
    }

    /// The divisor of the window at (oh, ow): its taps inside the padded input
    /// [−padTop, H + padBottom) × [−padLeft, W + padRight) when `countIncludePad`, else inside the input.
    static func avgDivisor(_ g: Pool2DGeometry, _ oh: Int, _ ow: Int, _ countIncludePad: Bool) -> Double {
        var taps = 0
        for r in 0..<g.kernelHeight {
            let ih = oh * g.strideH - g.padTop + r * g.dilationH
            for s in 0..<g.kernelWidth {
                let iw = ow * g.strideW - g.padLeft + s * g.dilationW
                let inside =
                    countIncludePad
                    ? ih >= -g.padTop && ih < g.height + g.padBottom && iw >= -g.padLeft && iw < g.width + g.padRight
                    : ih >= 0 && ih < g.height && iw >= 0 && iw < g.width
                if inside { taps += 1 }
            }
        }
        return Double(taps)
    }

    /// Σ over each window of x (taps outside the input read 0) / the window's divisor. x is
    /// (N,C,H,W) → (N,C,Ho,Wo).
    public static func avgPool2d(_ x: [Float], _ g: Pool2DGeometry, countIncludePad: Bool) -> [Float] {
        let ho = g.outHeight
        let wo = g.outWidth
        var y = [Float](repeating: 0, count: g.batch * g.channels * ho * wo)
        for plane in 0..<g.batch * g.channels {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    var sum = 0.0
                    for r in 0..<g.kernelHeight {
                        let ih = oh * g.strideH - g.padTop + r * g.dilationH
                        if ih < 0 || ih >= g.height { continue }
                        for s in 0..<g.kernelWidth {
                            let iw = ow * g.strideW - g.padLeft + s * g.dilationW
                            if iw < 0 || iw >= g.width { continue }
                            sum += Double(x[(plane * g.height + ih) * g.width + iw])
                        }
                    }
                    y[(plane * ho + oh) * wo + ow] = Float(sum / avgDivisor(g, oh, ow, countIncludePad))
                }
            }
        }
        return y
    }

    /// The adjoint of `avgPool2d`, by scattering dy / divisor to each window's input taps. dy is
    /// (N,C,Ho,Wo) → dx (N,C,H,W).
    public static func avgPool2dBackward(_ dy: [Float], _ g: Pool2DGeometry, countIncludePad: Bool) -> [Float] {
        let ho = g.outHeight
        let wo = g.outWidth
        var dx = [Double](repeating: 0, count: g.batch * g.channels * g.height * g.width)
        for plane in 0..<g.batch * g.channels {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    let v = Double(dy[(plane * ho + oh) * wo + ow]) / avgDivisor(g, oh, ow, countIncludePad)
                    for r in 0..<g.kernelHeight {
                        let ih = oh * g.strideH - g.padTop + r * g.dilationH
                        if ih < 0 || ih >= g.height { continue }
                        for s in 0..<g.kernelWidth {
                            let iw = ow * g.strideW - g.padLeft + s * g.dilationW
                            if iw < 0 || iw >= g.width { continue }
                            dx[(plane * g.height + ih) * g.width + iw] += v
                        }
                    }
                }
            }
        }
        return dx.map { Float($0) }
    }
}
