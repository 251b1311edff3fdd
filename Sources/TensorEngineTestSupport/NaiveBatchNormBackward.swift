import TensorEngine

extension NaiveKernels {
    /// The batch-norm training derivative by its definition, in Double: x̂ = (x − mean)·invStd,
    /// dx = scale·invStd·(g − mean(g) − x̂·mean(g·x̂)), with the sums Σg and Σg·x̂ per channel.
    public static func batchNormBackward(
        _ g: [Float],
        _ x: [Float],
        batch N: Int,
        channels C: Int,
        spatial S: Int,
        mean: [Float],
        invStd: [Float],
        scale: [Float]
    ) -> (dx: [Float], sumG: [Float], sumGXhat: [Float]) {
        var dx = [Float](repeating: 0, count: g.count)
        var sumG = [Float](repeating: 0, count: C)
        var sumGXhat = [Float](repeating: 0, count: C)
        let M = Double(N * S)
        for c in 0..<C {
            var sg = 0.0
            var sgx = 0.0
            for n in 0..<N {
                for i in 0..<S {
                    let j = (n * C + c) * S + i
                    let xhat = (Double(x[j]) - Double(mean[c])) * Double(invStd[c])
                    sg += Double(g[j])
                    sgx += Double(g[j]) * xhat
                }
            }
            sumG[c] = Float(sg)
            sumGXhat[c] = Float(sgx)
            for n in 0..<N {
                for i in 0..<S {
                    let j = (n * C + c) * S + i
                    let xhat = (Double(x[j]) - Double(mean[c])) * Double(invStd[c])
                    dx[j] = Float(Double(scale[c]) * Double(invStd[c]) * (Double(g[j]) - sg / M - xhat * sgx / M))
                }
            }
        }
        return (dx, sumG, sumGXhat)
    }
}
