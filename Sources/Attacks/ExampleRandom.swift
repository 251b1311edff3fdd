import TensorEngine

/// Per-example random streams: a generator from the run's seed, the example's index in the
/// evaluation set and a stream tag (the attack, the restart, the target class), mixed with SplitMix64
/// finalisers so that nearby indices give unrelated streams.
enum ExampleRandom {
    /// A generator for one example and one purpose.
    static func generator(seed: UInt64, example: Int, stream: UInt64) -> RandomGenerator {
        var h = mix(seed ^ 0x5243_4B44_4155_4454)
        h = mix(h ^ UInt64(bitPattern: Int64(example)))
        h = mix(h ^ stream)
        return RandomGenerator(seed: h)
    }

    /// A stream tag from an attack name and up to two small numbers (restart, target).
    static func stream(_ name: String, _ a: Int = 0, _ b: Int = 0) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the name's bytes
        for byte in name.utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return mix(mix(h ^ UInt64(a)) ^ UInt64(b) &* 0x9E37_79B9_7F4A_7C15)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
