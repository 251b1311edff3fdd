import TensorEngine

/// A seeded toy classification task: class k is a fixed random template plus Gaussian noise,
/// clipped to [0, 1]. Separable by a nearest-template rule with a wide margin, so a small network
/// must reach near-perfect training accuracy within a few epochs.
struct SyntheticTemplates {
    let images: Tensor
    let labels: [Int]

    init(count: Int, classes: Int, channels: Int = 1, size: Int, noise: Float, seed: UInt64, sampleSeed: UInt64) {
        var templateRNG = RandomGenerator(seed: seed)
        let pixels = channels * size * size
        let templates = (0..<classes).map { _ in Tensor.uniform([pixels], using: &templateRNG).scalars }
        var rng = RandomGenerator(seed: sampleSeed)
        var values = [Float](repeating: 0, count: count * pixels)
        var labels = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let k = i % classes
            labels[i] = k
            for j in 0..<pixels {
                values[i * pixels + j] = min(max(templates[k][j] + noise * rng.nextNormal(), 0), 1)
            }
        }
        self.images = Tensor(shape: [count, channels, size, size], scalars: values)
        self.labels = labels
    }

    /// The rows `indices` of the images and their labels.
    func batch(_ indices: [Int]) -> (Tensor, [Int]) {
        let x = images.gathered(indices: indices, indicesShape: [indices.count], axis: 0)
        return (x, indices.map { labels[$0] })
    }
}

/// A tensor of uniform values in [low, high) from `seed`.
func randomTensor(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.uniform(shape, low: low, high: high, using: &rng)
}
