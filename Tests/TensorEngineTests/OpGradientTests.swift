import TensorEngine
import TensorEngineTestSupport
import Testing

/// One differentiable expression with its input shapes and a value range for the inputs.
struct GradientCase: Sendable, CustomTestStringConvertible {
    let name: String
    let shapes: [[Int]]
    var low: Float = -1
    var high: Float = 1
    /// Inputs as a shuffled evenly spaced grid, so no two elements are within a finite-difference
    /// step of each other (max pooling is not differentiable at ties).
    var distinct = false
    /// The first-order check's finite-difference step.
    var step: Float = 1e-2
    let f: @Sendable ([Tensor]) -> Tensor

    var testDescription: String { name }

    func inputs(seed: UInt64 = 1) -> [Tensor] {
        var rng = RandomGenerator(seed: seed)
        return shapes.map { shape in
            guard distinct else { return Tensor.uniform(shape, low: low, high: high, using: &rng) }
            let n = shape.reduce(1, *)
            let order = rng.permutation(n)
            let spacing = (high - low) / Float(max(n - 1, 1))
            return Tensor(shape: shape, scalars: order.map { low + Float($0) * spacing })
        }
    }
}

/// Away from kinks: values in ±[0.2, 1] so relu, abs, clip and max see no ties within the step.
private func awayFromZero(_ x: Tensor) -> Tensor {
    x * 0.8 + sign(x) * 0.2
}

let elementwiseCases: [GradientCase] = [
    GradientCase(name: "add broadcast", shapes: [[2, 3, 4], [3, 1]]) { GradientCheck.projection($0[0] + $0[1]) },
    GradientCase(name: "sub broadcast", shapes: [[2, 1, 4], [3, 4]]) { GradientCheck.projection($0[0] - $0[1]) },
    GradientCase(name: "mul broadcast", shapes: [[2, 3, 4], [1, 3, 1]]) { GradientCheck.projection($0[0] * $0[1]) },
    GradientCase(name: "div", shapes: [[3, 4], [3, 4]], low: 0.5, high: 2) { GradientCheck.projection($0[0] / $0[1]) },
    GradientCase(name: "neg", shapes: [[5]]) { GradientCheck.projection(-$0[0]) },
    GradientCase(name: "pow tensor exponent", shapes: [[3, 4], [3, 4]], low: 0.5, high: 2) {
        GradientCheck.projection(pow($0[0], $0[1]))
    },
    GradientCase(name: "pow constant", shapes: [[6]], low: 0.5, high: 2) { GradientCheck.projection(pow($0[0], 3)) },
    GradientCase(name: "exp", shapes: [[2, 5]]) { GradientCheck.projection(exp($0[0])) },
    GradientCase(name: "log", shapes: [[2, 5]], low: 0.5, high: 3) { GradientCheck.projection(log($0[0])) },
    GradientCase(name: "sqrt", shapes: [[2, 5]], low: 0.5, high: 3) { GradientCheck.projection(sqrt($0[0])) },
    GradientCase(name: "abs", shapes: [[10]]) { GradientCheck.projection(abs(awayFromZero($0[0]))) },
    GradientCase(name: "sign (zero derivative)", shapes: [[10]]) {
        GradientCheck.projection(sign(awayFromZero($0[0])) + $0[0])
    },
    GradientCase(name: "relu", shapes: [[10]]) { GradientCheck.projection(relu(awayFromZero($0[0]))) },
    GradientCase(name: "reluGradient", shapes: [[10], [10]]) {
        GradientCheck.projection(reluGradient($0[0], awayFromZero($0[1])))
    },
    GradientCase(name: "leakyRelu", shapes: [[10]]) {
        GradientCheck.projection(leakyRelu(awayFromZero($0[0]), alpha: 0.1))
    },
    GradientCase(name: "sigmoid", shapes: [[10]], low: -3, high: 3) { GradientCheck.projection(sigmoid($0[0])) },
    GradientCase(name: "tanh", shapes: [[10]], low: -2, high: 2) { GradientCheck.projection(tanh($0[0])) },
    GradientCase(name: "erf", shapes: [[10]], low: -2, high: 2) { GradientCheck.projection(erf($0[0])) },
    GradientCase(name: "clip", shapes: [[10]], low: -2, high: 2) {
        GradientCheck.projection(clip(awayFromZero($0[0]) * 1.7, min: -0.9, max: 1.1))
    },
    GradientCase(name: "minimum/maximum", shapes: [[8], [8]]) {
        GradientCheck.projection(minimum($0[0], $0[1]) + maximum($0[0] * 2, $0[1]))
    },
]

let reductionAndLayoutCases: [GradientCase] = [
    GradientCase(name: "sum axes", shapes: [[2, 3, 4]]) { GradientCheck.projection($0[0].sum(axes: [0, 2])) },
    GradientCase(name: "mean keepDims", shapes: [[2, 3, 4]]) {
        GradientCheck.projection($0[0].mean(axes: [1], keepDims: true))
    },
    GradientCase(name: "max axes", shapes: [[2, 3, 4]], distinct: true) {
        GradientCheck.projection($0[0].max(axes: [0, 2]))
    },
    GradientCase(name: "max all", shapes: [[3, 5]], distinct: true) { $0[0].max() * 3 },
    GradientCase(name: "reshape", shapes: [[2, 6]]) { GradientCheck.projection($0[0].reshaped([3, -1]) * 2) },
    GradientCase(name: "flatten", shapes: [[2, 3, 2, 2]]) { GradientCheck.projection($0[0].flattened(axis: 2)) },
    GradientCase(name: "transpose", shapes: [[2, 3, 4]]) { GradientCheck.projection($0[0].transposed([2, 0, 1])) },
    GradientCase(name: "concat", shapes: [[2, 3], [2, 1], [2, 2]]) { GradientCheck.projection(concat($0, axis: 1)) },
    GradientCase(name: "slice with steps", shapes: [[5, 6]]) {
        GradientCheck.projection($0[0].sliced(starts: [4, 1], ends: [-1, 6], steps: [-2, 2]))
    },
    GradientCase(name: "pad", shapes: [[2, 3]]) {
        GradientCheck.projection($0[0].padded(before: [1, 0], after: [0, 2], value: 0.5))
    },
    GradientCase(name: "gather", shapes: [[4, 3]]) {
        GradientCheck.projection($0[0].gathered(indices: [2, -1, 0, 2], indicesShape: [2, 2], axis: 0))
    },
    GradientCase(name: "matmul", shapes: [[3, 4], [4, 5]]) { GradientCheck.projection(matmul($0[0], $0[1])) },
    GradientCase(name: "matmul transposed", shapes: [[4, 3], [5, 4]]) {
        GradientCheck.projection(matmul($0[0], $0[1], transposeA: true, transposeB: true))
    },
    GradientCase(name: "batchedMatmul broadcast batch", shapes: [[2, 1, 3, 4], [3, 4, 2]]) {
        GradientCheck.projection(batchedMatmul($0[0], $0[1]))
    },
    GradientCase(name: "batchedMatmul transposed", shapes: [[2, 4, 3], [1, 5, 4]]) {
        GradientCheck.projection(batchedMatmul($0[0], $0[1], transposeA: true, transposeB: true))
    },
    GradientCase(name: "batchedMatmul matrix operand", shapes: [[3, 4], [2, 4, 5]]) {
        GradientCheck.projection(
            batchedMatmul($0[0], $0[1])
                + batchedMatmul($0[1], $0[0], transposeA: true, transposeB: true).transposed([0, 2, 1])
        )
    },
    GradientCase(name: "batchedMatmul folded", shapes: [[2, 3, 4], [4, 5]]) {
        GradientCheck.projection(batchedMatmul($0[0], $0[1]))
    },
    GradientCase(name: "gemm", shapes: [[3, 4], [5, 4], [5]]) {
        GradientCheck.projection(gemm($0[0], $0[1], $0[2], alpha: 0.5, beta: 2, transposeB: true))
    },
    GradientCase(name: "softmax", shapes: [[3, 5]], low: -2, high: 2) {
        GradientCheck.projection(softmax($0[0], axis: 1))
    },
    GradientCase(name: "logSoftmax axis 0", shapes: [[4, 3]], low: -2, high: 2) {
        GradientCheck.projection(logSoftmax($0[0], axis: 0))
    },
    GradientCase(name: "crossEntropy", shapes: [[4, 5]], low: -2, high: 2) {
        crossEntropy(logits: $0[0], labels: [0, 3, 4, 1])
    },
    GradientCase(name: "crossEntropy smoothed", shapes: [[4, 5]], low: -2, high: 2) {
        crossEntropy(logits: $0[0], labels: [0, 3, 4, 1], labelSmoothing: 0.1)
    },
    GradientCase(name: "cosineSimilarity", shapes: [[3, 6], [3, 6]]) {
        GradientCheck.projection(cosineSimilarity($0[0], $0[1], axis: 1))
    },
    GradientCase(name: "klDivergence", shapes: [[3, 4], [3, 4]], low: -2, high: 2) {
        klDivergence(logP: logSoftmax($0[0]), logQ: logSoftmax($0[1]))
    },
]

@Suite("Op derivatives equal central finite differences in Double")
struct OpGradientTests {
    @Test(arguments: elementwiseCases + reductionAndLayoutCases)
    func firstOrder(_ c: GradientCase) {
        let result = GradientCheck.check(c.inputs(), c.f)
        #expect(result.passed, "\(c.name): \(result)")
    }

    @Test(arguments: elementwiseCases + reductionAndLayoutCases)
    func secondOrder(_ c: GradientCase) {
        let result = GradientCheck.checkSecondOrder(c.inputs(), c.f)
        #expect(result.passed, "\(c.name): \(result)")
    }
}
