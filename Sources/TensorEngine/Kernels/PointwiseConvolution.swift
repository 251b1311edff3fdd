// Pointwise convolution (1×1, stride 1, unpadded): per image and group, a GEMM straight on x.
// x is (N,C,H,W), w is (K,C/G,1,1), y is (N,K,H,W).

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
