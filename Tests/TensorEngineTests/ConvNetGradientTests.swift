import TensorEngine
import TensorEngineTestSupport
import Testing

let convOptionsGrid: [(String, Conv2DOptions, [Int], [Int])] = [
    // name, options, input shape (N,C,H,W), filter shape (K,C/g,R,S)
    ("3x3 pad 1", Conv2DOptions(stride: 1, padding: 1), [2, 2, 5, 5], [3, 2, 3, 3]),
    ("stride 2 asymmetric pad", Conv2DOptions(stride: (2, 1), padding: (1, 0, 2, 1)), [1, 2, 6, 5], [2, 2, 3, 2]),
    (
        "dilation 2", Conv2DOptions(stride: (1, 1), dilation: (2, 2), padding: (2, 1, 2, 1)), [1, 2, 6, 6],
        [2, 2, 3, 3]
    ),
    ("groups 2", Conv2DOptions(stride: 1, padding: 1, groups: 2), [2, 4, 4, 4], [4, 2, 3, 3]),
    ("depthwise stride 2", Conv2DOptions(stride: 2, padding: 1, groups: 3), [1, 3, 5, 5], [3, 1, 3, 3]),
    ("1x1", Conv2DOptions(), [2, 3, 3, 3], [2, 3, 1, 1]),
    // 32 channels on both sides: the automatic choice runs Winograd F(2×2, 3×3) forward and for the
    // input gradient (an odd size leaves half tiles); with AVX-512, F(4×4, 3×3) with channels in the
    // lanes.
    ("3x3 pad 1, 32 channels (Winograd)", Conv2DOptions(stride: 1, padding: 1), [1, 32, 3, 5], [32, 32, 3, 3]),
    // 16 to 31 channels: F(4×4, 3×3), a 4×4 tile and a part-filled one across.
    ("3x3 pad 1, 16 channels (Winograd F(4×4))", Conv2DOptions(stride: 1, padding: 1), [1, 16, 4, 6], [16, 16, 3, 3]),
]

/// Cases whose first-order check takes a step of 5e-2. F(4×4, 3×3) rounds 10–20× more than the other
/// kernels (3–6e-6 of the largest output against 1–5e-7, measured on ConvolutionKernelTests' Winograd
/// cases), enough to reach the quotient at a step of 1e-2; the ops are linear in each input, so the
/// quotient has no truncation error at any step, and a larger one divides the rounding by more.
let coarseStepCases: Set<String> = [
    "3x3 pad 1, 16 channels (Winograd F(4×4))", "3x3 pad 1, 32 channels (Winograd)",
]

let convGradientCases: [GradientCase] = convOptionsGrid.flatMap { name, options, xs, ws -> [GradientCase] in
    let step: Float = coarseStepCases.contains(name) ? 5e-2 : 1e-2
    return [
        GradientCase(name: "conv2d \(name)", shapes: [xs, ws, [ws[0]]], step: step) {
            GradientCheck.projection(conv2d($0[0], $0[1], bias: $0[2], options: options))
        },
        // The fused epilogue without its relu (smooth, so finite differences apply everywhere); with
        // the relu it is checked against the composition in FusedConvolutionTests.
        GradientCase(
            name: "fusedConv2d + residual \(name)",
            shapes: [xs, ws, [ws[0]], outputShape(xs, ws, options)],
            step: step
        ) {
            GradientCheck.projection(
                fusedConv2d($0[0], $0[1], bias: $0[2], residual: $0[3], relu: false, options: options)
            )
        },
        GradientCase(name: "conv2dBackwardInput \(name)", shapes: [outputShape(xs, ws, options), ws], step: step) {
            GradientCheck.projection(conv2dBackwardInput($0[0], $0[1], inputShape: xs, options: options))
        },
        GradientCase(name: "conv2dBackwardFilter \(name)", shapes: [xs, outputShape(xs, ws, options)], step: step) {
            GradientCheck.projection(conv2dBackwardFilter($0[0], $0[1], filterShape: ws, options: options))
        },
    ]
}

func outputShape(_ xs: [Int], _ ws: [Int], _ options: Conv2DOptions) -> [Int] {
    let g = options.geometry(input: xs, filter: ws)
    return [g.batch, g.outChannels, g.outHeight, g.outWidth]
}

let poolAndNormCases: [GradientCase] = [
    GradientCase(name: "maxPool2d 2x2", shapes: [[2, 2, 4, 4]], distinct: true) {
        GradientCheck.projection(maxPool2d($0[0], options: Pool2DOptions(kernel: 2)))
    },
    GradientCase(name: "maxPool2d 3x3 s2 pad 1 ceil", shapes: [[1, 2, 6, 5]], distinct: true) {
        GradientCheck.projection(
            maxPool2d($0[0], options: Pool2DOptions(kernel: 3, stride: 2, padding: 1, ceilMode: true))
        )
    },
    GradientCase(name: "avgPool2d include pad", shapes: [[1, 2, 5, 5]]) {
        GradientCheck.projection(
            avgPool2d($0[0], options: Pool2DOptions(kernel: 3, stride: 2, padding: 1), countIncludePad: true)
        )
    },
    GradientCase(name: "avgPool2d exclude pad ceil", shapes: [[1, 2, 6, 5]]) {
        GradientCheck.projection(
            avgPool2d(
                $0[0],
                options: Pool2DOptions(kernel: 3, stride: 2, padding: 1, ceilMode: true),
                countIncludePad: false
            )
        )
    },
    GradientCase(name: "globalAvgPool2d", shapes: [[2, 3, 3, 4]]) { GradientCheck.projection(globalAvgPool2d($0[0])) },
    GradientCase(name: "globalMaxPool2d", shapes: [[2, 3, 3, 4]], distinct: true) {
        GradientCheck.projection(globalMaxPool2d($0[0]))
    },
    GradientCase(name: "channelAffine", shapes: [[2, 3, 2, 2], [3], [3]]) {
        GradientCheck.projection(channelAffine($0[0], scale: $0[1], shift: $0[2]))
    },
    GradientCase(name: "batchNorm inference", shapes: [[2, 3, 2, 2], [3], [3], [3], [3]]) {
        GradientCheck.projection(
            batchNorm($0[0], mean: $0[1], variance: $0[2] * $0[2] + 0.5, scale: $0[3], offset: $0[4])
        )
    },
    GradientCase(name: "batchNorm training", shapes: [[3, 2, 2, 2], [2], [2]]) {
        GradientCheck.projection(batchNormTraining($0[0], scale: $0[1], offset: $0[2]).output)
    },
    GradientCase(name: "batchNorm training + residual", shapes: [[3, 2, 2, 2], [2], [2], [3, 2, 2, 2]]) {
        GradientCheck.projection(batchNormTraining($0[0], scale: $0[1], offset: $0[2], residual: $0[3]).output)
    },
]

@Suite("Conv-net op derivatives: first and second order against finite differences")
struct ConvNetGradientTests {
    @Test(arguments: convGradientCases + poolAndNormCases)
    func firstOrder(_ c: GradientCase) {
        let result = GradientCheck.check(c.inputs(), step: c.step, c.f)
        #expect(result.passed, "\(c.name): \(result)")
    }

    @Test(arguments: convGradientCases + poolAndNormCases)
    func secondOrder(_ c: GradientCase) {
        // Compose with a smooth nonlinearity so the Hessian–vector product is not trivially zero for
        // linear ops: d²/dx² of Σ tanh(op(x))·w exercises the op's VJP of a VJP.
        let result = GradientCheck.checkSecondOrder(c.inputs()) { xs in c.f(xs.map { tanh($0) }) }
        #expect(result.passed, "\(c.name): \(result)")
    }
}
