import GRPCCore
import ONNXInterop
import TensorEngine

/// One batch through a model, for Predict: the logits, and with labels the summed cross-entropy and
/// its gradient with respect to the input (a saliency map), in the caller's [0, 1] pixel space.
struct Prediction {
    let logits: Tensor
    let loss: Float?
    let inputGradient: Tensor?
    /// Whether the model's own output is probabilities (it ends in Softmax, or was declared so).
    var outputIsProbabilities = false

    /// The model's own output: softmax of the logits for a probability model (the Softmax it ends
    /// in, or the probabilities whose log was taken), the logits otherwise.
    var modelOutput: Tensor { outputIsProbabilities ? withoutGradients { softmax(logits, axis: 1) } : logits }

    /// - Throws: `RPCError` `.invalidArgument` for inputs that do not fit the model, `ONNXError` from
    ///   the import or the run.
    static func run(
        model: ONNXModel,
        input x: Tensor,
        labels: [Int],
        wantsGradient: Bool,
        preprocessing: (mean: [Float], std: [Float])?,
        declaredKind: ImportedClassifier.OutputKind?
    ) throws -> Prediction {
        let classifier = try ImportedClassifier(
            model: model,
            preprocessing: preprocessing,
            declaredKind: declaredKind
        )
        try classifier.checkShape(x.shape)
        let batch = x.shape[0]
        if wantsGradient && labels.isEmpty {
            throw RPCError(code: .invalidArgument, message: "input_gradient needs labels (one per batch row)")
        }
        if !labels.isEmpty && labels.count != batch {
            throw RPCError(code: .invalidArgument, message: "\(labels.count) labels for a batch of \(batch)")
        }
        func forward(_ input: Tensor) throws -> Tensor { try classifier.logits(input) }

        let probabilities = classifier.outputNote != nil
        if !wantsGradient {
            let logits = try withoutGradients { try forward(x) }
            return Prediction(
                logits: logits,
                loss: try loss(logits, labels),
                inputGradient: nil,
                outputIsProbabilities: probabilities
            )
        }
        let tracked = x.tracked()
        let logits = try forward(tracked)
        try checkLabels(labels, classes: logits.shape[1])
        let total = crossEntropy(logits: logits, labels: labels) * Float(batch)
        let gradient = TensorEngine.gradient(of: total, wrt: [tracked])[0]
        return Prediction(
            logits: logits.detached,
            loss: total.scalars[0],
            inputGradient: gradient.detached,
            outputIsProbabilities: probabilities
        )
    }

    static func loss(_ logits: Tensor, _ labels: [Int]) throws -> Float? {
        guard !labels.isEmpty else { return nil }
        try checkLabels(labels, classes: logits.shape[1])
        return withoutGradients { (crossEntropy(logits: logits, labels: labels) * Float(labels.count)).scalars[0] }
    }

    static func checkLabels(_ labels: [Int], classes: Int) throws {
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw RPCError(
                code: .invalidArgument,
                message: "label \(bad) is outside 0..<\(classes) (the model's classes)"
            )
        }
    }

    static func checkShape(_ shape: [Int], against declared: ModelSummary.ValueSummary) throws {
        guard !declared.shape.isEmpty else { return }
        let expected = declared.shape.map { dimension -> String in
            switch dimension {
            case .size(let n): "\(n)"
            case .symbol(let s): s
            case .unknown: "?"
            }
        }
        let fits =
            shape.count == declared.shape.count
            && zip(shape, declared.shape).allSatisfy { size, dimension in
                if case .size(let n) = dimension { return n == size }
                return true
            }
        guard fits else {
            throw RPCError(
                code: .invalidArgument,
                message: "the input has shape \(shape); the model's input '\(declared.name)' is "
                    + "[\(expected.joined(separator: ", "))]"
            )
        }
    }
}
