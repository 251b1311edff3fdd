import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@Suite("Whole-model gradients")
struct ModelGradientTests {
    static func tinyModel(seed: UInt64) -> (Sequential, Tensor) {
        var rng = RandomGenerator(seed: seed)
        let model = Sequential([
            Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, initialization: .uniformFanIn, rng: &rng),
            BatchNorm2D(channels: 3),
            ReLU(),
            GlobalAvgPool2D(),
            Flatten(),
            Linear(inFeatures: 3, outFeatures: 4, rng: &rng),
        ])
        let parameters = model.parameters
        // Non-trivial γ, β so their gradients are not symmetric.
        parameters[2].value = Tensor(shape: [3], scalars: [1.5, 0.7, 1.1])
        parameters[3].value = Tensor(shape: [3], scalars: [0.2, -0.3, 0.1])
        return (model, Tensor.uniform([2, 2, 5, 5], low: -1, high: 1, using: &rng))
    }

    /// conv → batch norm (training) → relu → global pool → linear → cross-entropy on (2,2,5,5):
    /// the tape's gradient with respect to every parameter matches central differences.
    @Test func tinyModelParameterGradientsMatchFiniteDifferences() {
        let (model, x) = Self.tinyModel(seed: 31)
        let parameters = model.parameters
        let labels = [1, 3]
        // A step of 3e-3 keeps the perturbed pre-activations on the same side of ReLU's kink; Float
        // rounding of the loss contributes about 1e-5 to the quotient.
        let initial = parameters.map(\.value.detached)
        let result = GradientCheck.check(initial, step: 3e-3, rtol: 1e-2, atol: 1e-3) { values in
            for (p, v) in zip(parameters, values) { p.value = v }
            let logits = model(x, context: ForwardContext(isTraining: true))
            return crossEntropy(logits: logits, labels: labels)
        }
        #expect(result.passed, "\(result)")
        #expect(result.compared >= 50)
    }

    /// Second order, as the Jacobian-matching loss of Robust-KD needs it: the weight gradient of
    /// an input-gradient penalty ‖∂L/∂x‖² (double back-propagation through conv, training-mode
    /// batch norm, ReLU, pooling and linear) matches central differences of the penalty.
    @Test func inputGradientPenaltyWeightGradientsMatchFiniteDifferences() {
        let (model, x) = Self.tinyModel(seed: 33)
        let parameters = model.parameters
        let labels = [0, 2]
        let initial = parameters.map(\.value.detached)
        let result = GradientCheck.check(initial, step: 3e-3, rtol: 2e-2, atol: 2e-3) { values in
            for (p, v) in zip(parameters, values) { p.value = v }
            let input = x.tracked()
            let loss = crossEntropy(logits: model(input, context: ForwardContext(isTraining: true)), labels: labels)
            let g = gradient(of: loss, wrt: [input], createGraph: true)[0]
            return (g * g).sum() * 100
        }
        #expect(result.passed, "\(result)")
    }

    /// The same in inference mode, with respect to the input, through a ResNet basic block.
    @Test func basicBlockInputGradientMatchesFiniteDifferences() {
        var rng = RandomGenerator(seed: 32)
        let block = BasicBlock(inChannels: 2, outChannels: 4, stride: 2, rng: &rng)
        for b in block.buffers {
            b.value = Tensor.uniform(b.shape, low: 0.5, high: 1.5, using: &rng)
        }
        let x = Tensor.uniform([1, 2, 6, 6], low: -1, high: 1, using: &rng)
        let result = GradientCheck.check([x], step: 1e-2, rtol: 1e-2, atol: 1e-3) { xs in
            GradientCheck.projection(block(xs[0], context: ForwardContext(isTraining: false)))
        }
        #expect(result.passed, "\(result)")
    }
}
