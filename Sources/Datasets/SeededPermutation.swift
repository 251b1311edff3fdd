/// Deterministic permutations from a 64-bit seed: the same seed gives the same order on every machine
/// and, because the algorithm is fixed here, in every rkd version, so that a shuffled run can be repeated
/// and resumed.
///
/// The generator is SplitMix64 (Steele, Lea and Flood, "Fast Splittable Pseudorandom Number
/// Generators", OOPSLA 2014): the state advances by 0x9E3779B97F4A7C15 and each output is the state
/// mixed by `z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
/// z ^ (z >> 31)`. The shuffle is Durstenfeld's Fisher–Yates from the last position down, swapping
/// position i with j uniform in 0...i; j is drawn without bias by Lemire's multiply-and-reject method
/// ("Fast Random Integer Generation in an Interval", ACM TOMACS 2019).
public enum SeededPermutation {
    /// A permutation of 0..<count.
    public static func indices(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<max(count, 0))
        var generator = SplitMix64(seed: seed)
        var position = order.count - 1
        while position > 0 {
            let other = Int(generator.next(below: UInt64(position + 1)))
            order.swapAt(position, other)
            position -= 1
        }
        return order
    }
}

/// SplitMix64, see `SeededPermutation`.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (bound > 0).
    mutating func next(below bound: UInt64) -> UInt64 {
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            // 2⁶⁴ mod bound: the low words below it would make the high word biased.
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }
}
