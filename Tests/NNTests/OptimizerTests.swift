import Foundation
import NN
import TensorEngine
import Testing

/// The quadratic f(p) = ½ Σ aᵢ pᵢ², whose gradient is aᵢ pᵢ; the expected trajectories below are
/// PyTorch's update rules written out in Double.
@Suite("Optimizers")
struct OptimizerTests {
    static let curvature: [Double] = [1, 2, 0.5, -0.25]
    static let start: [Double] = [1, -2, 3, 0.5]

    static func run(_ optimizer: inout some Optimizer, steps: Int) -> [Float] {
        let p = Parameter(name: "p", value: Tensor(shape: [4], scalars: start.map(Float.init)))
        for _ in 0..<steps {
            let g = zip(curvature, p.value.scalars).map { Float($0 * Double($1)) }
            optimizer.step([p], gradients: [Tensor(shape: [4], scalars: g)])
        }
        return p.value.scalars
    }

    static func expectClose(_ actual: [Float], _ expected: [Double], relative: Double = 2e-5) {
        for (a, e) in zip(actual, expected) {
            #expect(abs(Double(a) - e) <= relative * max(1, abs(e)), "got \(actual), expected \(expected)")
        }
    }

    /// PyTorch SGD in Double.
    static func sgdReference(
        lr: Double,
        momentum mu: Double,
        nesterov: Bool,
        weightDecay wd: Double,
        steps: Int
    ) -> [Double] {
        var p = start
        var b: [Double]? = nil
        for _ in 0..<steps {
            var d = zip(curvature, p).map { $0 * $1 }
            d = zip(d, p).map { $0 + wd * $1 }
            if mu != 0 {
                let nb = b.map { zip($0, d).map { mu * $0 + $1 } } ?? d
                b = nb
                d = nesterov ? zip(d, nb).map { $0 + mu * $1 } : nb
            }
            p = zip(p, d).map { $0 - lr * $1 }
        }
        return p
    }

    @Test func sgdOneStepIsPlainGradientDescent() {
        var sgd = SGD(learningRate: 0.1)
        // p − 0.1·a·p
        Self.expectClose(Self.run(&sgd, steps: 1), [0.9, -1.6, 2.85, 0.5125])
        #expect(sgd.stepCount == 1)
    }

    @Test(arguments: [(0.0, false, 0.0), (0.9, false, 0.0), (0.9, true, 0.0), (0.9, true, 5e-2), (0.5, false, 1e-1)])
    func sgdMatchesPyTorchOverSeveralSteps(momentum: Double, nesterov: Bool, weightDecay: Double) {
        for steps in [1, 2, 7] {
            var sgd = SGD(
                learningRate: 0.05,
                momentum: Float(momentum),
                nesterov: nesterov,
                weightDecay: Float(weightDecay)
            )
            let expected = Self.sgdReference(
                lr: 0.05,
                momentum: momentum,
                nesterov: nesterov,
                weightDecay: weightDecay,
                steps: steps
            )
            Self.expectClose(Self.run(&sgd, steps: steps), expected)
        }
    }

    @Test func sgdMomentumFirstStepsByHand() {
        // μ = 0.9, η = 0.1, one coordinate p₀ = 1, a = 1: g₁ = 1, b₁ = 1, p₁ = 0.9;
        // g₂ = 0.9, b₂ = 0.9·1 + 0.9 = 1.8, p₂ = 0.9 − 0.18 = 0.72.
        var sgd = SGD(learningRate: 0.1, momentum: 0.9)
        let p = Parameter(name: "p", value: Tensor(shape: [1], scalars: [1]))
        sgd.step([p], gradients: [p.value.detached])
        sgd.step([p], gradients: [p.value.detached])
        #expect(abs(p.value.scalars[0] - 0.72) < 1e-6)
        #expect(sgd.state.slots["momentum"]?["p"].map { abs($0[0] - 1.8) < 1e-6 } == true)
    }

    /// PyTorch Adam (and AdamW) in Double.
    static func adamReference(
        lr: Double,
        beta1: Double,
        beta2: Double,
        eps: Double,
        weightDecay wd: Double,
        decoupled: Bool,
        steps: Int
    ) -> [Double] {
        var p = start
        var m = [Double](repeating: 0, count: p.count)
        var v = m
        for t in 1...steps {
            var g = zip(curvature, p).map { $0 * $1 }
            if decoupled { p = p.map { $0 * (1 - lr * wd) } } else { g = zip(g, p).map { $0 + wd * $1 } }
            for i in p.indices {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                let mHat = m[i] / (1 - pow(beta1, Double(t)))
                let denominator = v[i].squareRoot() / (1 - pow(beta2, Double(t))).squareRoot() + eps
                p[i] -= lr * mHat / denominator
            }
        }
        return p
    }

    @Test func adamFirstStepMovesByTheLearningRate() {
        // At t = 1, m̂ = g and √v̂ = |g|: every coordinate moves by η·sign(g) (up to ε).
        var adam = Adam(learningRate: 0.01)
        let p = Self.run(&adam, steps: 1)
        Self.expectClose(p, [0.99, -1.99, 2.99, 0.51])
    }

    @Test(arguments: [(0.0, false), (0.1, false), (0.1, true)])
    func adamMatchesPyTorchOverSeveralSteps(weightDecay: Double, decoupled: Bool) {
        for steps in [1, 3, 10] {
            var adam = Adam(
                learningRate: 0.02,
                beta1: 0.8,
                beta2: 0.99,
                epsilon: 1e-6,
                weightDecay: Float(weightDecay),
                decoupledWeightDecay: decoupled
            )
            let expected = Self.adamReference(
                lr: 0.02,
                beta1: 0.8,
                beta2: 0.99,
                eps: 1e-6,
                weightDecay: weightDecay,
                decoupled: decoupled,
                steps: steps
            )
            Self.expectClose(Self.run(&adam, steps: steps), expected, relative: 1e-4)
            #expect(adam.stepCount == steps)
        }
    }

    @Test func stateRestoresIntoAFreshOptimizer() throws {
        let p = Parameter(name: "p", value: Tensor(shape: [2], scalars: [1, 2]))
        var adam = Adam(learningRate: 0.1)
        adam.step([p], gradients: [Tensor(shape: [2], scalars: [0.5, -1])])
        var fresh = Adam(learningRate: 0.1)
        try fresh.restore(adam.state, parameters: [p])
        #expect(fresh.state == adam.state)
        var sgd = SGD(learningRate: 0.1)
        #expect(throws: CheckpointError.self) { try sgd.restore(adam.state, parameters: [p]) }
        let other = Parameter(name: "p", value: Tensor(zeros: [3]))
        #expect(throws: CheckpointError.self) { try fresh.restore(adam.state, parameters: [other]) }
    }
}
