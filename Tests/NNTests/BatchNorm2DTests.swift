import NN
import TensorEngine
import Testing

@Suite("BatchNorm2D")
struct BatchNorm2DTests {
    /// x (2,2,1,3): channel 0 holds 1…6, channel 1 holds squares.
    static let x = Tensor(shape: [2, 2, 1, 3], scalars: [1, 2, 3, 1, 4, 9, 4, 5, 6, 16, 25, 36])
    static let channelValues: [[Double]] = [[1, 2, 3, 4, 5, 6], [1, 4, 9, 16, 25, 36]]

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
    static func biasedVariance(_ v: [Double]) -> Double {
        let m = mean(v)
        return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)
    }

    @Test func trainingUpdatesRunningStatisticsWithUnbiasedVariance() {
        let bn = BatchNorm2D(channels: 2)
        let y = bn(Self.x, context: ForwardContext(isTraining: true))
        var expectedMean = [0.0, 0.0]
        var expectedVariance = [1.0, 1.0]
        for c in 0..<2 {
            let v = Self.channelValues[c]
            expectedMean[c] = 0.9 * 0 + 0.1 * Self.mean(v)
            expectedVariance[c] = 0.9 * 1 + 0.1 * Self.biasedVariance(v) * 6 / 5  // unbiased: m/(m−1), m = 6
        }
        for c in 0..<2 {
            #expect(abs(Double(bn.runningMean.value.scalars[c]) - expectedMean[c]) < 1e-5)
            #expect(abs(Double(bn.runningVariance.value.scalars[c]) - expectedVariance[c]) < 1e-4)
        }
        // The output is normalised with the batch's biased variance.
        let m0 = Self.mean(Self.channelValues[0])
        let s0 = (Self.biasedVariance(Self.channelValues[0]) + 1e-5).squareRoot()
        #expect(abs(Double(y[0, 0, 0, 0]) - (1 - m0) / s0) < 1e-5)
        #expect(abs(Double(y[1, 0, 0, 2]) - (6 - m0) / s0) < 1e-5)

        // A second batch folds in with momentum 0.1 again.
        let x2 = Self.x * 2
        _ = bn(x2, context: ForwardContext(isTraining: true))
        for c in 0..<2 {
            let v = Self.channelValues[c].map { $0 * 2 }
            let m = 0.9 * expectedMean[c] + 0.1 * Self.mean(v)
            let s = 0.9 * expectedVariance[c] + 0.1 * Self.biasedVariance(v) * 6 / 5
            #expect(abs(Double(bn.runningMean.value.scalars[c]) - m) < 1e-5)
            #expect(abs(Double(bn.runningVariance.value.scalars[c]) - s) / s < 1e-5)
        }
    }

    @Test func evaluationUsesRunningStatisticsAndLeavesThemAlone() {
        let bn = BatchNorm2D(channels: 2)
        bn.runningMean.value = Tensor(shape: [2], scalars: [1, -2])
        bn.runningVariance.value = Tensor(shape: [2], scalars: [4, 0.25])
        bn.weight.value = Tensor(shape: [2], scalars: [2, 3])
        bn.bias.value = Tensor(shape: [2], scalars: [0.5, -1])
        let y = bn(Self.x, context: ForwardContext(isTraining: false))
        let mean = [1.0, -2]
        let variance = [4.0, 0.25]
        let gamma = [2.0, 3]
        let beta = [0.5, -1]
        for n in 0..<2 {
            for c in 0..<2 {
                for w in 0..<3 {
                    let x = Double(Self.x[n, c, 0, w])
                    let expected = (x - mean[c]) / (variance[c] + 1e-5).squareRoot() * gamma[c] + beta[c]
                    #expect(abs(Double(y[n, c, 0, w]) - expected) < 1e-4 * max(1, abs(expected)))
                }
            }
        }
        #expect(bn.runningMean.value.scalars == [1, -2])
        #expect(bn.runningVariance.value.scalars == [4, 0.25])
    }

    @Test func namesAndShapes() {
        let bn = BatchNorm2D(channels: 3)
        #expect(bn.parameters.map(\.name) == ["weight", "bias"])
        #expect(bn.buffers.map(\.name) == ["running_mean", "running_var"])
        #expect(bn.weight.value.scalars == [1, 1, 1] && bn.runningVariance.value.scalars == [1, 1, 1])
    }
}
