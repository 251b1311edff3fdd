import TensorEngine

/// A per-example generator the attacks draw from (``ExampleRandom``).
struct RandomGeneratorBox {
    var generator: RandomGenerator

    init(seed: UInt64, example: Int, stream: UInt64) {
        generator = ExampleRandom.generator(seed: seed, example: example, stream: stream)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Float { generator.nextUniform() }
    /// Standard normal.
    mutating func normal() -> Float { generator.nextNormal() }
    /// Uniform in 0..<n.
    mutating func int(below n: Int) -> Int { generator.nextInt(below: n) }
    /// −1 or +1 with equal chance.
    mutating func sign() -> Float { generator.next() & 1 == 0 ? -1 : 1 }
}
