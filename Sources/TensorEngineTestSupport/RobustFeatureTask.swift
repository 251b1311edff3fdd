import TensorEngine

/// A tiny task with one robust feature and fifteen fragile ones, for tests of robust training: the class
/// moves pixel 0 of a (1, 4, 4) input by ±0.3 and each other pixel by ±0.05 (plus noise σ 0.05, clipped
/// to [0, 1]). Standard training leans on all sixteen (roughly in proportion to their signal), which an
/// L∞ budget of 0.2 overturns; a robust model must lean on pixel 0.
public struct RobustFeatureTask: Sendable {
    /// `count` examples of 16 values each, in order.
    public let inputs: [Float]
    /// 0 or 1.
    public let labels: [Int]

    public init(count: Int, seed: UInt64) {
        var random = RandomGenerator(seed: seed)
        var inputs: [Float] = []
        var labels: [Int] = []
        for _ in 0..<count {
            let y = random.nextInt(below: 2)
            let sign: Float = y == 1 ? 1 : -1
            inputs.append(0.5 + 0.3 * sign + 0.05 * random.nextNormal())
            for _ in 1..<16 { inputs.append(0.5 + 0.05 * sign + 0.05 * random.nextNormal()) }
            labels.append(y)
        }
        self.inputs = inputs.map { min(max($0, 0), 1) }
        self.labels = labels
    }

    /// The inputs as an (N, 1, 4, 4) tensor.
    public var tensor: Tensor { Tensor(shape: [labels.count, 1, 4, 4], scalars: inputs) }
}
