import Foundation
import TensorEngine

/// The per-example losses attacks maximise, on logits z (N, K) and labels y.
/// Each returns one value per example (N), built from differentiable ops.
enum AttackLoss {
    /// Cross-entropy −log softmax(z)_y.
    case crossEntropy
    /// The difference of logits ratio (Croce & Hein 2020, arXiv 2003.01690, eq. 5):
    /// −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), π the classes sorted by decreasing logit.
    case dlr
    /// The targeted DLR loss: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), one target t per example.
    case targetedDLR(targets: [Int])
    /// KL(p ‖ softmax(z)) against fixed reference probabilities p (N·K): TRADES' inner objective.
    case klDivergence(reference: [Float])

    /// The loss of each row of z.
    func values(_ z: Tensor, labels: [Int]) -> Tensor {
        let (n, k) = (z.shape[0], z.shape[1])
        switch self {
        case .crossEntropy:
            return -(logSoftmax(z, axis: 1) * oneHot(labels, n: n, k: k)).sum(axes: [1])
        case .dlr:
            // Masks from the sorted values pick the same entries sort() would, so the gradient flows
            // to the same logits as through a sort.
            let order = sortedClasses(z.scalars, n: n, k: k)
            let zy = pick(z, labels)
            let other = pick(z, (0..<n).map { order[$0][0] == labels[$0] ? order[$0][1] : order[$0][0] })
            let top = pick(z, order.map { $0[0] })
            let third = pick(z, order.map { $0[2] })
            return -(zy - other) / (top - third + 1e-12)
        case .targetedDLR(let targets):
            let order = sortedClasses(z.scalars, n: n, k: k)
            let top = pick(z, order.map { $0[0] })
            let third = pick(z, order.map { $0[2] })
            let fourth = pick(z, order.map { $0[3] })
            return -(pick(z, labels) - pick(z, targets)) / (top - (third + fourth) * 0.5 + 1e-12)
        case .klDivergence(let reference):
            let p = Tensor(shape: [n, k], scalars: reference)
            let logP = Tensor(shape: [n, k], scalars: reference.map { $0 > 0 ? logf($0) : 0 })
            return (p * (logP - logSoftmax(z, axis: 1))).sum(axes: [1])
        }
    }

    /// z[i, columns[i]] for each row, as an (N) tensor.
    private func pick(_ z: Tensor, _ columns: [Int]) -> Tensor {
        (z * oneHot(columns, n: z.shape[0], k: z.shape[1])).sum(axes: [1])
    }
}

/// An (N, K) tensor with a 1 at (i, columns[i]).
func oneHot(_ columns: [Int], n: Int, k: Int) -> Tensor {
    var mask = [Float](repeating: 0, count: n * k)
    for (i, c) in columns.enumerated() { mask[i * k + c] = 1 }
    return Tensor(shape: [n, k], scalars: mask)
}

/// Each row's classes by decreasing logit (ties: the lower index first).
func sortedClasses(_ logits: [Float], n: Int, k: Int) -> [[Int]] {
    (0..<n).map { i in
        (0..<k).sorted { a, b in
            let (za, zb) = (logits[i * k + a], logits[i * k + b])
            return za != zb ? za > zb : a < b
        }
    }
}

/// The predicted class of each row of flat logits (N·K): the first maximum.
func predictedClasses(_ logits: [Float], classes k: Int) -> [Int] {
    let n = k > 0 ? logits.count / k : 0
    return (0..<n).map { i in
        var best = 0
        for c in 1..<k where logits[i * k + c] > logits[i * k + best] { best = c }
        return best
    }
}

/// z_y − max_{i≠y} z_i for each row: positive while the example is classified correctly.
func classificationMargins(_ logits: [Float], labels: [Int], classes k: Int) -> [Float] {
    labels.enumerated().map { i, y in
        var other = -Float.infinity
        for c in 0..<k where c != y { other = Swift.max(other, logits[i * k + c]) }
        return logits[i * k + y] - other
    }
}
