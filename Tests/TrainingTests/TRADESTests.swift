import Attacks
import Foundation
import NN
import TensorEngine
import TensorEngineTestSupport
import Testing
import Training

@Suite("TRADES")
struct TRADESTests {
    /// The loss against its definition computed by hand in Double: CE(z, y) + β·KL(softmax z ‖ softmax z′).
    @Test func lossEqualsItsDefinition() {
        let clean = Tensor(shape: [2, 3], scalars: [1, 0, -1, 0.5, 2, 0])
        let adversarial = Tensor(shape: [2, 3], scalars: [0, 0.5, 0.5, 1, 0, 0.5])
        let labels = [0, 1]
        let beta: Float = 6
        func softmax(_ z: [Double]) -> [Double] {
            let e = z.map { Foundation.exp($0 - (z.max() ?? 0)) }
            return e.map { $0 / e.reduce(0, +) }
        }
        var expected = 0.0
        for row in 0..<2 {
            let z = (0..<3).map { Double(clean.scalars[row * 3 + $0]) }
            let z2 = (0..<3).map { Double(adversarial.scalars[row * 3 + $0]) }
            let p = softmax(z)
            let q = softmax(z2)
            let crossEntropy = -Foundation.log(p[labels[row]])
            let kl = zip(p, q).reduce(0.0) { $0 + $1.0 * Foundation.log($1.0 / $1.1) }
            expected += (crossEntropy + Double(beta) * kl) / 2
        }
        let loss = TRADES.loss(logits: clean, adversarialLogits: adversarial, labels: labels, beta: beta)
        #expect(abs(Double(loss.scalar) - expected) < 1e-5, "\(loss.scalar) vs \(expected)")
        // With x′ = x the robustness term vanishes.
        let same = TRADES.loss(logits: clean, adversarialLogits: clean, labels: labels, beta: beta)
        #expect(abs(same.scalar - crossEntropy(logits: clean, labels: labels).scalar) < 1e-6)
    }

    /// The inner maximisation raises the divergence from the clean prediction, within the ball; a
    /// TRADES step runs and lowers its loss on a repeated batch.
    @Test func innerMaximisationAndStep() throws {
        let model = TinyLinear(seed: 3)
        let task = RobustFeatureTask(count: 32, seed: 7)
        let trades = TRADES(.linf, epsilon: 0.1, steps: 5, beta: 6)
        let probabilities = withoutGradients { softmax(model.logits(task.tensor), axis: 1) }.scalars
        let batch = AttackBatch(inputs: task.inputs, labels: task.labels, indices: Array(0..<32), seed: 1)
        let crafted = try trades.attack.maximizeDivergence(on: ClassifierAttackModel(model), batch, from: probabilities)
        #expect(crafted.perturbations.allSatisfy { $0.linf <= 0.1 + 1e-6 })
        let moved = withoutGradients {
            softmax(model.logits(Tensor(shape: [32, 1, 4, 4], scalars: crafted.adversarial)), axis: 1)
        }
        #expect(zip(moved.scalars, probabilities).contains { abs($0 - $1) > 1e-3 })
        var optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        var losses: [Float] = []
        for step in 0..<20 {
            losses.append(
                try trades.step(
                    model: model,
                    optimizer: &optimizer,
                    inputs: task.tensor,
                    labels: task.labels,
                    indices: Array(0..<32),
                    seed: UInt64(step)
                )
            )
        }
        #expect((losses.last ?? 1) < (losses.first ?? 0), "\(losses)")
    }
}
