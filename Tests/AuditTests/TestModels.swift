import Attacks
import Audit
import TensorEngine

/// A seeded linear classifier on (1, 4, 4) inputs, optionally with a defect that a reliability
/// check must catch.
struct TestModel: AttackModel {
    enum Defect {
        case none
        /// Adds fresh noise to every pass.
        case randomised
        /// Normalises logits by the batch mean (like batch norm in training mode).
        case batchStatistics
        /// Rounds the input before the linear map: zero gradients everywhere.
        case quantised
    }

    let weights: Tensor
    let bias: Tensor
    let defect: Defect
    let inputShape = [1, 4, 4]
    let classCount = 5
    var inputBounds: ClosedRange<Float> { 0...1 }
    final class Counter { var value: UInt64 = 0 }
    let counter = Counter()

    init(seed: UInt64, defect: Defect = .none) {
        var random = RandomGenerator(seed: seed)
        weights = Tensor(shape: [5, 16], scalars: (0..<80).map { _ in random.nextNormal() })
        bias = Tensor(shape: [1, 5], scalars: (0..<5).map { _ in 0.1 * random.nextNormal() })
        self.defect = defect
    }

    func logits(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        var flat = x.reshaped([n, 16])
        if defect == .quantised { flat = sign(flat - 0.5) }
        var z = matmul(flat, weights, transposeB: true) + bias
        switch defect {
        case .randomised:
            counter.value += 1
            var random = RandomGenerator(seed: counter.value)
            z = z + Tensor(shape: [n, 5], scalars: (0..<n * 5).map { _ in 0.5 * random.nextNormal() })
        case .batchStatistics:
            z = z - z.mean(axes: [0], keepDims: true)
        default: break
        }
        return z
    }

    /// Examples in [0.35, 0.65] labelled with the model's own clean prediction (all correct), but
    /// every seventh label changed (clean errors).
    func examples(_ count: Int, seed: UInt64 = 3) -> AuditExamples {
        var random = RandomGenerator(seed: seed)
        let inputs = (0..<count * 16).map { _ in 0.35 + 0.3 * random.nextUniform() }
        let predicted = withoutGradients { logits(Tensor(shape: [count, 1, 4, 4], scalars: inputs)) }.argmax(axis: 1)
        let labels = predicted.enumerated().map { i, p in i % 7 == 3 ? (p + 1) % 5 : p }
        return AuditExamples(
            inputs: inputs,
            labels: labels,
            indices: (0..<count).map { 1000 + $0 },
            exampleShape: [1, 4, 4]
        )
    }
}
