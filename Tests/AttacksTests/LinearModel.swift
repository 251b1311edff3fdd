import Attacks
import Foundation
import TensorEngine

/// A linear classifier z = W·x + b on (1, H, W) inputs in [0, 1], small enough to attack by hand:
/// class j beats class y at x + δ iff (w_j − w_y)·δ > m_j = z_y − z_j. Away from the box's faces the
/// smallest L∞ perturbation that does it is m_j/‖w_j − w_y‖₁ and the smallest L2 one m_j/‖w_j − w_y‖₂.
struct LinearModel: AttackModel {
    let weights: [Float]  // (K, D)
    let bias: [Float]  // (K)
    let inputShape: [Int]
    let classCount: Int
    var inputBounds: ClosedRange<Float> { 0...1 }

    init(classes: Int, height: Int = 4, width: Int = 4, seed: UInt64) {
        var random = RandomGenerator(seed: seed)
        let d = height * width
        inputShape = [1, height, width]
        classCount = classes
        weights = (0..<classes * d).map { _ in random.nextNormal() }
        bias = (0..<classes).map { _ in 0.1 * random.nextNormal() }
    }

    var dimension: Int { inputShape.reduce(1, *) }

    func logits(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let w = Tensor(shape: [classCount, dimension], scalars: weights)
        return matmul(x.reshaped([n, dimension]), w, transposeB: true) + Tensor(shape: [1, classCount], scalars: bias)
    }

    /// Logits of one flat input, in Double.
    func exactLogits(_ x: ArraySlice<Float>) -> [Double] {
        (0..<classCount).map { k in
            zip(x, weights[k * dimension..<(k + 1) * dimension]).reduce(Double(bias[k])) { $0 + Double($1.0 * $1.1) }
        }
    }

    /// The smallest perturbation (in the norm) that changes the prediction from y, ignoring the box.
    func minimalDistance(_ x: ArraySlice<Float>, label y: Int, norm: PerturbationNorm) -> Double {
        let z = exactLogits(x)
        var best = Double.infinity
        for j in 0..<classCount where j != y {
            var length = 0.0
            for i in 0..<dimension {
                let v = Double(weights[j * dimension + i] - weights[y * dimension + i])
                length += norm == .linf ? abs(v) : v * v
            }
            if norm == .l2 { length = length.squareRoot() }
            best = min(best, (z[y] - z[j]) / length)
        }
        return best
    }
}

/// A data set for a linear model: inputs in [0.35, 0.65] (so that perturbations up to 0.35 stay
/// inside the box) labelled with the model's own predictions, so that clean accuracy is 1.
struct LinearProblem {
    let model: LinearModel
    let batch: AttackBatch

    init(classes: Int, count: Int, seed: UInt64) {
        let model = LinearModel(classes: classes, seed: seed)
        self.model = model
        var random = RandomGenerator(seed: seed &+ 1)
        let d = model.dimension
        let inputs = (0..<count * d).map { _ in 0.35 + 0.3 * random.nextUniform() }
        let labels = (0..<count).map { i -> Int in
            let z = model.exactLogits(inputs[i * d..<(i + 1) * d])
            return z.indices.max { z[$0] < z[$1] } ?? 0
        }
        batch = AttackBatch(inputs: inputs, labels: labels, indices: Array(0..<count), seed: 7)
    }

    /// The smallest perturbation that fools example i.
    func minimalDistance(_ i: Int, _ norm: PerturbationNorm) -> Double {
        let d = model.dimension
        return model.minimalDistance(batch.inputs[i * d..<(i + 1) * d], label: batch.labels[i], norm: norm)
    }

    /// The exact robust accuracy at ε: the share of examples whose minimal distance exceeds ε.
    func exactRobustAccuracy(_ norm: PerturbationNorm, epsilon: Float) -> Double {
        let robust = (0..<batch.count).filter { minimalDistance($0, norm) > Double(epsilon) }.count
        return Double(robust) / Double(batch.count)
    }

    /// The median minimal distance: a budget at which about half the examples are robust.
    func medianDistance(_ norm: PerturbationNorm) -> Float {
        let distances = (0..<batch.count).map { minimalDistance($0, norm) }.sorted()
        return Float(distances[distances.count / 2])
    }
}

extension AttackResult {
    var robustAccuracy: Double { Double(fooled.filter { !$0 }.count) / Double(fooled.count) }
}
