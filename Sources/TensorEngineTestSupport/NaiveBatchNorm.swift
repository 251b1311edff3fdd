import TensorEngine

extension NaiveKernels {
    /// Per-channel mean and biased variance of x (N,C,HW), two passes in `Double`.
    public static func batchNormStatistics(
        _ x: [Float],
        batch: Int,
        channels: Int,
        spatial: Int
    ) -> (mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: channels)
        var variance = [Float](repeating: 0, count: channels)
        let count = Double(batch * spatial)
        for c in 0..<channels {
            var sum = 0.0
            for n in 0..<batch {
                for i in 0..<spatial { sum += Double(x[(n * channels + c) * spatial + i]) }
            }
            let m = sum / count
            var squares = 0.0
            for n in 0..<batch {
                for i in 0..<spatial {
                    let d = Double(x[(n * channels + c) * spatial + i]) - m
                    squares += d * d
                }
            }
            mean[c] = Float(m)
            variance[c] = Float(squares / count)
        }
        return (mean, variance)
    }

    /// y[n,c,i] = x[n,c,i]·scale[c] + shift[c], x (N,C,HW).
    public static func channelAffine(
        _ x: [Float],
        batch: Int,
        channels: Int,
        spatial: Int,
        scale: [Float],
        shift: [Float]
    ) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for n in 0..<batch {
            for c in 0..<channels {
                for i in 0..<spatial {
                    let j = (n * channels + c) * spatial + i
                    y[j] = Float(Double(x[j]) * Double(scale[c]) + Double(shift[c]))
                }
            }
        }
        return y
    }
}
