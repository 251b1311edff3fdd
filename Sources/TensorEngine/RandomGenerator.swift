import Foundation

/// A seeded pseudo-random generator whose streams are identical run to run and machine to machine.
///
/// The core is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number generators",
/// 2018); the 256-bit state is filled from the 64-bit seed with SplitMix64, as its authors
/// recommend. `Float`s in [0, 1) take the top 24 bits of a draw; normals use the Box–Muller transform
/// on two uniforms (both outputs used, in order). The state is a plain value, so a checkpoint that
/// stores it resumes the exact same stream.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The four state words of xoshiro256**.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second Box–Muller output waiting to be returned, if any.
    public private(set) var spareNormal: Float?

    /// Creates a generator from a seed; equal seeds give equal streams.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
        spareNormal = nil
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform `Float` in [0, 1).
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal `Float` (mean 0, variance 1).
    public mutating func nextNormal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        // u1 in (0, 1] so that log(u1) is finite.
        let u1 = Double(next() >> 11 + 1) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2.0 * log(u1)).squareRoot()
        let angle = 2.0 * Double.pi * u2
        spareNormal = Float(radius * sin(angle))
        return Float(radius * cos(angle))
    }

    /// A uniform integer in `0..<upperBound`, without modulo bias.
    public mutating func nextInt(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "RandomGenerator.nextInt: upper bound \(upperBound) must be positive")
        return Int(next(upperBound: UInt64(upperBound)))
    }

    /// A random permutation of `0..<count` (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var result = Array(0..<count)
        if count < 2 { return result }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            result.swapAt(i, j)
        }
        return result
    }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool {
        a.state == b.state && a.spareNormal == b.spareNormal
    }

    private enum CodingKeys: String, CodingKey { case state, spareNormal }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let words = try c.decode([UInt64].self, forKey: .state)
        guard words.count == 4 else {
            throw DecodingError.dataCorruptedError(
                forKey: .state,
                in: c,
                debugDescription: "xoshiro256** state needs 4 words, got \(words.count)"
            )
        }
        state = (words[0], words[1], words[2], words[3])
        spareNormal = try c.decodeIfPresent(Float.self, forKey: .spareNormal)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode([state.0, state.1, state.2, state.3], forKey: .state)
        try c.encodeIfPresent(spareNormal, forKey: .spareNormal)
    }
}

extension Tensor {
    /// Uniform samples in `[low, high)`.
    public static func uniform(
        _ shape: [Int],
        low: Float = 0,
        high: Float = 1,
        using rng: inout RandomGenerator
    ) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = low + (high - low) * rng.nextUniform() }
        return Tensor(shape: shape, scalars: values)
    }

    /// Normal samples with the given mean and standard deviation.
    public static func normal(
        _ shape: [Int],
        mean: Float = 0,
        standardDeviation: Float = 1,
        using rng: inout RandomGenerator
    ) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = mean + standardDeviation * rng.nextNormal() }
        return Tensor(shape: shape, scalars: values)
    }
}
