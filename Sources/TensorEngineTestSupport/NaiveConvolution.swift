import TensorEngine

/// Naive loop-nest twins of the fast kernels: written straight from the definitions, accumulating
/// in `Double`, sharing no code with `Kernels`. They are the oracles of the kernel tests and the
/// benchmark.
public enum NaiveKernels {}

extension NaiveKernels {
    /// y[n,k,oh,ow] = bias[k] + Σ_(c∈group(k), r, s) w[k,c,r,s] · x[n, c, oh·sH − padTop + r·dH, ow·sW − padLeft + s·dW],
    /// taps outside the input reading 0. x is (N,C,H,W), w is (K,C/G,R,S) → y (N,K,Ho,Wo).
    public static func conv2d(_ x: [Float], _ w: [Float], bias: [Float]?, _ g: Conv2DGeometry) -> [Float] {
        let (n, c, h, wd, k, r, s) = (
            g.batch, g.inChannels, g.height, g.width, g.outChannels, g.kernelHeight, g.kernelWidth
        )
        let ho = g.outHeight
        let wo = g.outWidth
        let cg = c / g.groups
        let kg = k / g.groups
        precondition(x.count == n * c * h * wd && w.count == k * cg * r * s, "NaiveKernels.conv2d: bad x or w count")
        var y = [Float](repeating: 0, count: n * k * ho * wo)
        for b in 0..<n {
            for oc in 0..<k {
                let group = oc / kg
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var acc = Double(bias?[oc] ?? 0)
                        for ci in 0..<cg {
                            let ic = group * cg + ci
                            for kr in 0..<r {
                                let ih = oh * g.strideH - g.padTop + kr * g.dilationH
                                if ih < 0 || ih >= h { continue }
                                for ks in 0..<s {
                                    let iw = ow * g.strideW - g.padLeft + ks * g.dilationW
                                    if iw < 0 || iw >= wd { continue }
                                    acc +=
                                        Double(w[((oc * cg + ci) * r + kr) * s + ks])
                                        * Double(x[((b * c + ic) * h + ih) * wd + iw])
                                }
                            }
                        }
                        y[((b * k + oc) * ho + oh) * wo + ow] = Float(acc)
                    }
                }
            }
        }
        return y
    }

    /// The adjoint of `conv2d` in x, by scattering: every dy[n,k,oh,ow] adds w[k,c,r,s]·dy to the
    /// x position its tap (c,r,s) read. dy is (N,K,Ho,Wo) → dx (N,C,H,W).
    public static func conv2dBackwardInput(_ dy: [Float], _ w: [Float], _ g: Conv2DGeometry) -> [Float] {
        let (n, c, h, wd, k, r, s) = (
            g.batch, g.inChannels, g.height, g.width, g.outChannels, g.kernelHeight, g.kernelWidth
        )
        let ho = g.outHeight
        let wo = g.outWidth
        let cg = c / g.groups
        let kg = k / g.groups
        precondition(
            dy.count == n * k * ho * wo && w.count == k * cg * r * s,
            "NaiveKernels.conv2dBackwardInput: bad counts"
        )
        var dx = [Double](repeating: 0, count: n * c * h * wd)
        for b in 0..<n {
            for oc in 0..<k {
                let group = oc / kg
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        let grad = Double(dy[((b * k + oc) * ho + oh) * wo + ow])
                        for ci in 0..<cg {
                            let ic = group * cg + ci
                            for kr in 0..<r {
                                let ih = oh * g.strideH - g.padTop + kr * g.dilationH
                                if ih < 0 || ih >= h { continue }
                                for ks in 0..<s {
                                    let iw = ow * g.strideW - g.padLeft + ks * g.dilationW
                                    if iw < 0 || iw >= wd { continue }
                                    dx[((b * c + ic) * h + ih) * wd + iw] +=
                                        grad * Double(w[((oc * cg + ci) * r + kr) * s + ks])
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx.map { Float($0) }
    }

    /// The adjoint of `conv2d` in w, by scattering: every dy[n,k,oh,ow] adds dy·x[tap] to w[k,c,r,s].
    /// x is (N,C,H,W), dy is (N,K,Ho,Wo) → dw (K,C/G,R,S).
    public static func conv2dBackwardFilter(_ x: [Float], _ dy: [Float], _ g: Conv2DGeometry) -> [Float] {
        let (n, c, h, wd, k, r, s) = (
            g.batch, g.inChannels, g.height, g.width, g.outChannels, g.kernelHeight, g.kernelWidth
        )
        let ho = g.outHeight
        let wo = g.outWidth
        let cg = c / g.groups
        let kg = k / g.groups
        precondition(
            x.count == n * c * h * wd && dy.count == n * k * ho * wo,
            "NaiveKernels.conv2dBackwardFilter: bad counts"
        )
        var dw = [Double](repeating: 0, count: k * cg * r * s)
        for b in 0..<n {
            for oc in 0..<k {
                let group = oc / kg
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        let grad = Double(dy[((b * k + oc) * ho + oh) * wo + ow])
                        for ci in 0..<cg {
                            let ic = group * cg + ci
                            for kr in 0..<r {
                                let ih = oh * g.strideH - g.padTop + kr * g.dilationH
                                if ih < 0 || ih >= h { continue }
                                for ks in 0..<s {
                                    let iw = ow * g.strideW - g.padLeft + ks * g.dilationW
                                    if iw < 0 || iw >= wd { continue }
                                    dw[((oc * cg + ci) * r + kr) * s + ks] +=
                                        grad * Double(x[((b * c + ic) * h + ih) * wd + iw])
                                }
                            }
                        }
                    }
                }
            }
        }
        return dw.map { Float($0) }
    }
}
