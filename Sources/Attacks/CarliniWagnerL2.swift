import Foundation
import TensorEngine

/// Carlini & Wagner's L2 attack: a minimum-norm attack, counted as successful when the smallest
/// adversarial perturbation it finds is within ε.
///
/// Carlini and Wagner, "Towards Evaluating the Robustness of Neural Networks", arXiv 1608.04644.
/// In tanh space x = lo + (hi − lo)·(tanh(w) + 1)/2 (so x stays in the bounds), minimise
/// ‖x − x₀‖₂² + c·max(z_y − max_{i≠y} z_i, −κ) with Adam, starting each search step from the clean
/// input; a binary search over c per example (×10 until the first success, then bisection) looks
/// for the smallest c that succeeds. The smallest successful perturbation found is kept.
public struct CarliniWagnerL2: Attack {
    public let threat: ThreatModel
    /// Adam iterations per value of c.
    public let steps: Int
    /// Values of c tried per example.
    public let binarySearchSteps: Int
    /// The first c.
    public let initialConstant: Float
    /// The confidence κ.
    public let confidence: Float
    /// Adam's learning rate.
    public let learningRate: Float

    /// C&W-L2; success is counted within ε.
    public init(
        epsilon: Float,
        steps: Int = 100,
        binarySearchSteps: Int = 9,
        initialConstant: Float = 1e-2,
        confidence: Float = 0,
        learningRate: Float = 1e-2
    ) {
        threat = ThreatModel(.l2, epsilon: epsilon)
        self.steps = steps
        self.binarySearchSteps = binarySearchSteps
        self.initialConstant = initialConstant
        self.confidence = confidence
        self.learningRate = learningRate
    }

    public var name: String { "cw-l2" }
    public var settings: [String: String] {
        [
            "norm": "l2", "epsilon": "\(threat.epsilon)", "steps": "\(steps)",
            "binary_search_steps": "\(binarySearchSteps)", "initial_const": "\(initialConstant)",
            "confidence": "\(confidence)", "learning_rate": "\(learningRate)", "optimizer": "adam",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        guard steps >= 1, binarySearchSteps >= 1, initialConstant > 0, confidence >= 0, learningRate > 0 else {
            throw AttackError(
                .invalidConfiguration,
                "cw-l2: steps and binary search steps must be ≥ 1, the initial constant and learning rate > 0, κ ≥ 0"
            )
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let positions = tracker.robustPositions
        guard !positions.isEmpty else { return tracker.result() }
        let d = model.inputDimension
        let n = positions.count
        let (lo, hi) = (model.inputBounds.lowerBound, model.inputBounds.upperBound)
        let half = (hi - lo) / 2
        let x0 = rows(batch.inputs, positions, width: d)
        let labels = rows(batch.labels, positions)
        let w0 = x0.map { v -> Float in
            let t = min(max((v - lo) / half - 1, -1 + 1e-6), 1 - 1e-6)
            return 0.5 * logf((1 + t) / (1 - t))  // atanh
        }
        var c = [Float](repeating: initialConstant, count: n)
        var lower = [Float](repeating: 0, count: n)
        var upper = [Float](repeating: 1e10, count: n)
        let kappa = confidence

        for _ in 0..<binarySearchSteps {
            var w = w0
            var m = [Float](repeating: 0, count: w.count)
            var v = [Float](repeating: 0, count: w.count)
            var succeeded = [Bool](repeating: false, count: n)
            let constants = Tensor(shape: [n], scalars: c)
            for step in 1...steps {
                let tanhW = w.map { tanhf($0) }
                let x = tanhW.map { lo + half * ($0 + 1) }
                let e = try model.evaluate(x, count: n) { z in
                    constants * maximum(cwMargin(z, labels: labels), Tensor(-kappa))
                }
                for p in positions { tracker.queries[p] += 1 }
                tracker.offerSmallest(x, logits: e.logits, positions: positions)
                for (k, predicted) in predictedClasses(e.logits, classes: model.classCount).enumerated()
                where predicted != labels[k] {
                    succeeded[k] = true
                }
                // ∂/∂w of ‖x − x₀‖² + c·f = (2(x − x₀) + ∂(c·f)/∂x) · (hi − lo)/2 · (1 − tanh²w); Adam step.
                let b1: Float = 0.9
                let b2: Float = 0.999
                let correction1 = 1 - powf(b1, Float(step))
                let correction2 = 1 - powf(b2, Float(step))
                for i in w.indices {
                    let g = (2 * (x[i] - x0[i]) + e.gradient[i]) * half * (1 - tanhW[i] * tanhW[i])
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    w[i] -= learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + 1e-8)
                }
            }
            for k in 0..<n {
                if succeeded[k] {
                    upper[k] = min(upper[k], c[k])
                    c[k] = (lower[k] + upper[k]) / 2
                } else {
                    lower[k] = max(lower[k], c[k])
                    c[k] = upper[k] < 1e9 ? (lower[k] + upper[k]) / 2 : c[k] * 10
                }
            }
        }
        return tracker.result()
    }
}

/// z_y − max_{i≠y} z_i per row, differentiable (the other class picked from the detached values).
func cwMargin(_ z: Tensor, labels: [Int]) -> Tensor {
    let (n, k) = (z.shape[0], z.shape[1])
    let values = z.scalars
    let others = labels.enumerated().map { i, y in
        var best = y == 0 ? 1 : 0
        for c in 0..<k where c != y && values[i * k + c] > values[i * k + best] { best = c }
        return best
    }
    return (z * (oneHot(labels, n: n, k: k) - oneHot(others, n: n, k: k))).sum(axes: [1])
}
