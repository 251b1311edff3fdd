import TensorEngine

/// Random-crop and horizontal-flip augmentation of image batches, the standard recipe for CIFAR-style
/// training: each example is padded with zeros by `padding` pixels on every side, a window of the
/// original size is cut at a uniform offset, and (when `flip` is on) mirrored left–right with
/// probability ½. The choices follow from the run's seed, the epoch and the example's index in the
/// training set, so a resumed run augments every example exactly as an uninterrupted one.
public struct Augmentation: Hashable, Sendable, Codable {
    /// Zero padding before the crop, in pixels (0: no crop).
    public var padding: Int
    /// Whether to mirror left–right with probability ½.
    public var flip: Bool

    /// - Precondition: `padding` ≥ 0.
    public init(padding: Int = 2, flip: Bool = true) {
        precondition(padding >= 0, "Augmentation: padding \(padding)")
        self.padding = padding
        self.flip = flip
    }

    /// Augments one example of shape (C, H, W) in place into `output` (same size).
    func apply(
        _ example: ArraySlice<Float>,
        shape: [Int],
        seed: UInt64,
        epoch: Int,
        index: Int,
        into output: inout [Float]
    ) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        var random = RandomGenerator(
            seed: seed ^ (UInt64(epoch) &* 0xA24B_AED4_963E_E407) ^ (UInt64(index) &* 0x9FB2_1C65_1E98_DF25)
        )
        let dy = padding > 0 ? random.nextInt(below: 2 * padding + 1) - padding : 0
        let dx = padding > 0 ? random.nextInt(below: 2 * padding + 1) - padding : 0
        let mirror = flip && random.nextInt(below: 2) == 1
        let base = example.startIndex
        for c in 0..<channels {
            for y in 0..<height {
                let sy = y + dy
                for x in 0..<width {
                    let sx0 = mirror ? width - 1 - x : x
                    let sx = sx0 + dx
                    let value: Float =
                        (sy >= 0 && sy < height && sx >= 0 && sx < width)
                        ? example[base + (c * height + sy) * width + sx] : 0
                    output.append(value)
                }
            }
        }
    }
}
