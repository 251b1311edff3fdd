import TensorEngine
import TensorEngineTestSupport
import Testing

/// The convolution epilogue (bias, residual, relu applied as results are stored) against the separate
/// ops it replaces: the same values bit for bit, and the same derivatives to second order.
@Suite("Fused convolution epilogues")
struct FusedConvolutionTests {
    /// Every algorithm and register-block width: conv2d with the epilogue equals conv2d, add and
    /// relu run one after the other, exactly.
    @Test(arguments: convCases)
    func kernelEqualsSeparatePasses(_ c: ConvCase) {
        let g = c.g
        var rng = RandomGenerator(seed: g.testSeed + 11)
        let x = kernelRandom(g.inputCount, &rng)
        let w = kernelRandom(g.weightCount, &rng)
        let bias = kernelRandom(g.outChannels, &rng)
        let residual = kernelRandom(g.outputCount, &rng)
        for algorithm in convAlgorithms {
            for simd in SIMDLevel.allCases {
                for b in [bias, nil] {
                    let plain = Kernels.conv2d(x, w, bias: b, g, algorithm: algorithm, simd: simd)
                    let sum = Kernels.add(plain, residual)
                    let label = "\(algorithm) \(simd) bias \(b != nil)"
                    let fusedSum = Kernels.conv2d(
                        x,
                        w,
                        bias: b,
                        g,
                        residual: residual,
                        algorithm: algorithm,
                        simd: simd
                    )
                    #expect(fusedSum == sum, "residual, \(label)")
                    let fusedReLU = Kernels.conv2d(x, w, bias: b, g, relu: true, algorithm: algorithm, simd: simd)
                    #expect(fusedReLU == Kernels.relu(plain), "relu, \(label)")
                    let fusedBoth = Kernels.conv2d(
                        x,
                        w,
                        bias: b,
                        g,
                        residual: residual,
                        relu: true,
                        algorithm: algorithm,
                        simd: simd
                    )
                    #expect(fusedBoth == Kernels.relu(sum), "residual and relu, \(label)")
                    #expect(fusedBoth.contains { $0 == 0 } && fusedBoth.contains { $0 > 0 }, "relu cuts, \(label)")
                }
            }
        }
    }

    static let opCases: [(String, Conv2DOptions, [Int], [Int])] = [
        ("3x3 pad 1 (direct)", Conv2DOptions(stride: 1, padding: 1), [2, 4, 6, 6], [4, 4, 3, 3]),
        ("3x3 stride 2 (im2col)", Conv2DOptions(stride: 2, padding: 1), [2, 3, 7, 7], [5, 3, 3, 3]),
        ("1x1 (pointwise)", Conv2DOptions(), [2, 3, 4, 4], [6, 3, 1, 1]),
    ]

    /// The op's value, its gradients with respect to x, w, bias and residual, and the second-order
    /// gradient of the input gradient's squared norm (what Robust-KD's Jacobian term differentiates)
    /// equal those of relu(conv2d(x, w, bias) + residual) composed from the separate ops.
    @Test(arguments: 0..<opCases.count)
    func opEqualsCompositionToSecondOrder(_ index: Int) {
        let (_, options, xs, ws) = Self.opCases[index]
        var rng = RandomGenerator(seed: 5 + UInt64(index))
        let x = Tensor.uniform(xs, low: -1, high: 1, using: &rng)
        let w = Tensor.uniform(ws, low: -0.5, high: 0.5, using: &rng)
        let bias = Tensor.uniform([ws[0]], low: -0.2, high: 0.2, using: &rng)
        let ys = outputShape(xs, ws, options)
        let residual = Tensor.uniform(ys, low: -0.5, high: 0.5, using: &rng)
        let probe = Tensor.uniform(ys, low: -1, high: 1, using: &rng)

        for (withResidual, withReLU) in [(true, true), (false, true), (true, false)] {
            let label = "residual \(withResidual), relu \(withReLU)"
            func fused(_ t: [Tensor]) -> Tensor {
                fusedConv2d(
                    t[0],
                    t[1],
                    bias: t[2],
                    residual: withResidual ? t[3] : nil,
                    relu: withReLU,
                    options: options
                )
            }
            func composed(_ t: [Tensor]) -> Tensor {
                var z = conv2d(t[0], t[1], bias: t[2], options: options)
                if withResidual { z = z + t[3] }
                return withReLU ? relu(z) : z
            }
            #expect(
                fused([x, w, bias, residual]).scalars == composed([x, w, bias, residual]).scalars,
                "value, \(label)"
            )

            // First order: every input's gradient of ⟨f, probe⟩.
            func firstOrder(_ f: ([Tensor]) -> Tensor) -> [Tensor] {
                let t = [x, w, bias, residual].map { $0.tracked() }
                return gradient(of: (f(t) * probe).sum(), wrt: t)
            }
            let fusedGrads = firstOrder(fused)
            let composedGrads = firstOrder(composed)
            for (k, name) in ["x", "w", "bias", "residual"].enumerated() {
                #expect(
                    kernelRelativeError(fusedGrads[k].scalars, composedGrads[k].scalars) <= 1e-6,
                    "d/d\(name), \(label)"
                )
            }

            // Second order: d/d(w, x) of ‖∂⟨tanh(f), probe⟩/∂x‖².
            func secondOrder(_ f: ([Tensor]) -> Tensor) -> [Tensor] {
                let t = [x, w, bias, residual].map { $0.tracked() }
                let inner = (tanh(f(t)) * probe).sum()
                let dx = gradient(of: inner, wrt: [t[0]], createGraph: true)[0]
                return gradient(of: (dx * dx).sum(), wrt: [t[0], t[1], t[2]])
            }
            let fusedSecond = secondOrder(fused)
            let composedSecond = secondOrder(composed)
            for (k, name) in ["x", "w", "bias"].enumerated() {
                let error = kernelRelativeError(fusedSecond[k].scalars, composedSecond[k].scalars)
                #expect(error <= 1e-5, "second order d/d\(name), \(label): \(error)")
                #expect(fusedSecond[k].scalars.contains { $0 != 0 }, "second order d/d\(name) is not zero, \(label)")
            }
        }
    }

    /// Training-mode batch norm with the epilogue equals batchNormTraining, + and relu composed: the
    /// value bit for bit, the gradients with respect to x, scale, offset and residual, and the
    /// second-order gradient of the input gradient's squared norm.
    @Test func batchNormEpilogueEqualsComposition() {
        var rng = RandomGenerator(seed: 17)
        let x = Tensor.uniform([3, 4, 5, 5], low: -1, high: 1, using: &rng)
        let scale = Tensor.uniform([4], low: 0.5, high: 1.5, using: &rng)
        let offset = Tensor.uniform([4], low: -0.3, high: 0.3, using: &rng)
        let residual = Tensor.uniform([3, 4, 5, 5], low: -0.5, high: 0.5, using: &rng)
        let probe = Tensor.uniform([3, 4, 5, 5], low: -1, high: 1, using: &rng)
        for (withResidual, withReLU) in [(true, true), (false, true), (true, false)] {
            let label = "residual \(withResidual), relu \(withReLU)"
            func fused(_ t: [Tensor]) -> Tensor {
                batchNormTraining(t[0], scale: t[1], offset: t[2], residual: withResidual ? t[3] : nil, relu: withReLU)
                    .output
            }
            func composed(_ t: [Tensor]) -> Tensor {
                var z = batchNormTraining(t[0], scale: t[1], offset: t[2]).output
                if withResidual { z = z + t[3] }
                return withReLU ? relu(z) : z
            }
            let inputs = [x, scale, offset, residual]
            #expect(fused(inputs).scalars == composed(inputs).scalars, "value, \(label)")
            func firstOrder(_ f: ([Tensor]) -> Tensor) -> [Tensor] {
                let t = inputs.map { $0.tracked() }
                return gradient(of: (f(t) * probe).sum(), wrt: t)
            }
            for (k, (a, b)) in zip(firstOrder(fused), firstOrder(composed)).enumerated() {
                #expect(kernelRelativeError(a.scalars, b.scalars) <= 1e-6, "input \(k), \(label)")
            }
            // A backward pass that does not record applies the relu's mask inside the batch-norm
            // kernel; one that records runs a reluGradient op first: the same bits.
            func firstOrderBits(recording: Bool) -> [[Float]] {
                let t = inputs.map { $0.tracked() }
                return gradient(of: (fused(t) * probe).sum(), wrt: t, createGraph: recording).map(\.scalars)
            }
            #expect(firstOrderBits(recording: false) == firstOrderBits(recording: true), "bits, \(label)")
            func secondOrder(_ f: ([Tensor]) -> Tensor) -> [Tensor] {
                let t = inputs.map { $0.tracked() }
                let dx = gradient(of: (tanh(f(t)) * probe).sum(), wrt: [t[0]], createGraph: true)[0]
                return gradient(of: (dx * dx).sum(), wrt: [t[0], t[1]])
            }
            for (k, (a, b)) in zip(secondOrder(fused), secondOrder(composed)).enumerated() {
                #expect(kernelRelativeError(a.scalars, b.scalars) <= 1e-5, "second order \(k), \(label)")
                #expect(a.scalars.contains { $0 != 0 })
            }
        }
    }
}
