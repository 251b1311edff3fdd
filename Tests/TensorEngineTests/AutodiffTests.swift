import Foundation
import TensorEngine
import TensorEngineTestSupport
import Testing

@Suite("Autodiff: closed forms, tape scope and cost")
struct AutodiffTests {
    @Test func secondDerivativeOfCubeIsSixX() {
        let x = Tensor(shape: [3], scalars: [-1.5, 0.5, 2]).tracked()
        let y = (x * x * x).sum()
        let dy = gradient(of: y, wrt: [x], createGraph: true)[0]
        #expect(dy.isTracked)
        #expect(dy.scalars == [6.75, 0.75, 12])  // 3x²
        let d2y = gradient(of: dy.sum(), wrt: [x])[0]
        #expect(d2y.scalars == [-9, 3, 12])  // 6x
        #expect(!d2y.isTracked)
    }

    @Test func thirdDerivativeOfExp() {
        let x = Tensor(shape: [2], scalars: [0, 1]).tracked()
        var g = exp(x).sum()
        for _ in 0..<3 { g = gradient(of: g, wrt: [x], createGraph: true)[0].sum() }
        #expect(Swift.abs(g.scalar - (1 + 2.7182817)) < 1e-5)
    }

    /// A tape 200 000 ops deep (deeper than any graph rkd imports) is differentiated, differentiated
    /// again through a recorded gradient, and released on a thread with a 512 KiB stack: the tape's
    /// release must not recurse once per node (recursively it overflowed such a stack at 3 000).
    @Test func deepTapeIsDifferentiatedAndReleasedOnASmallStack() throws {
        let depth = 200_000
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var results: (first: [Float], second: [Float]) = ([], [])
        let thread = Thread {
            do {
                let x = Tensor(shape: [2], scalars: [1, 2]).tracked()
                var y = x
                for _ in 0..<depth { y = -y }
                // An even number of negations: y = x, dy/dx = 1; then y·x gives d/dx = 2x.
                let first = gradient(of: (y * x).sum(), wrt: [x], createGraph: true)[0]
                results.first = first.scalars
                results.second = gradient(of: first.sum(), wrt: [x])[0].scalars
            }
            finished.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        finished.wait()
        #expect(results.first == [2, 4])
        #expect(results.second == [2, 2])
    }

    @Test func noTapeWithoutGradients() {
        let w = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]).tracked()
        let y = withoutGradients { matmul(w, w) }
        #expect(!y.isTracked)
        #expect(matmul(w, w).isTracked)
    }

    @Test func gradientOfUnrelatedInputIsZero() {
        let a = Tensor(shape: [2], scalars: [1, 2]).tracked()
        let b = Tensor(shape: [2], scalars: [3, 4]).tracked()
        let g = gradient(of: (a * a).sum(), wrt: [a, b])
        #expect(g[0].scalars == [2, 4])
        #expect(g[1].scalars == [0, 0])
    }

    @Test func reusedValueAccumulates() {
        let x = Tensor(shape: [1], scalars: [3]).tracked()
        let y = x * x + x * 2 + x
        #expect(gradient(of: y.sum(), wrt: [x])[0].scalars == [9])
    }

    @Test func inputGradientSkipsFilterGradient() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 6, 6], using: &rng).tracked()
        let w = Tensor.normal([4, 3, 3, 3], using: &rng).tracked()  // a trainable weight
        let loss = conv2d(
            relu(conv2d(x, w, options: Conv2DOptions(stride: 1, padding: 1))),
            Tensor.normal(
                [2, 4, 3, 3],
                using: &rng
            ).tracked(),
            options: Conv2DOptions(stride: 1, padding: 1)
        ).sum()
        let before = OpCounters.snapshot
        _ = gradient(of: loss, wrt: [x])
        let after = OpCounters.snapshot
        // Two input-gradient convolutions, and no filter gradient at all.
        #expect(after.backwardInput - before.backwardInput >= 2)
        #expect(after.backwardFilter == before.backwardFilter)
    }

    /// The Robust-KD Jacobian term (METHOD.md): with a random unit vector M over a feature map z,
    /// J(x) = ∂(M·z)/∂x, L = ‖J_s − J_t‖². Its gradient with respect to the student's weights needs
    /// double back-propagation; it must equal central finite differences of L.
    @Test(arguments: ["tanh", "relu+batchnorm"])
    func robustKDJacobianTermWeightGradient(_ variant: String) {
        var rng = RandomGenerator(seed: 21)
        let x = Tensor.uniform([2, 1, 6, 6], using: &rng)
        let teacher = [
            Tensor.normal([3, 1, 3, 3], standardDeviation: 0.5, using: &rng),
            Tensor.normal([4, 3, 3, 3], standardDeviation: 0.3, using: &rng),
        ]
        let student = [
            Tensor.normal([3, 1, 3, 3], standardDeviation: 0.5, using: &rng),
            Tensor.normal([4, 3, 3, 3], standardDeviation: 0.3, using: &rng),
        ]
        let bnScale = Tensor(shape: [3], scalars: [1.0, 0.8, 1.2])
        let bnShift = Tensor(shape: [3], scalars: [0.1, -0.1, 0.05])
        let pad1 = Conv2DOptions(stride: 1, padding: 1)
        let stride2 = Conv2DOptions(stride: 2, padding: 1)
        func features(_ w: [Tensor], _ x: Tensor) -> Tensor {
            let h = conv2d(x, w[0], options: pad1)
            let a = variant == "tanh" ? tanh(h) : relu(batchNormTraining(h, scale: bnScale, offset: bnShift).output)
            return conv2d(a, w[1], options: stride2)  // (N,4,3,3)
        }
        let zShape = [2, 4, 3, 3]
        var m = Tensor.normal(zShape, using: &rng)
        m = m / sqrt((m * m).sum())  // ‖M‖₂ = 1, shared by teacher and student
        func projectedJacobian(_ w: [Tensor], createGraph: Bool) -> Tensor {
            let tx = x.tracked()
            return gradient(of: (features(w, tx) * m).sum(), wrt: [tx], createGraph: createGraph)[0]
        }
        let jt = withoutGradients { projectedJacobian(teacher, createGraph: false) }
        let result = GradientCheck.check(student, step: variant == "tanh" ? 1e-2 : 2e-3, rtol: 2e-2, atol: 2e-3) { ws in
            let diff = projectedJacobian(ws, createGraph: true) - jt
            return (diff * diff).sum()
        }
        #expect(result.passed, "\(variant): \(result)")
        #expect(result.compared >= 60)
    }
}
