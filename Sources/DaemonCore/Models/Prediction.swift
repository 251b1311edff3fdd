import GRPCCore
import ONNXInterop
import TensorEngine

/// One batch through a model, for Predict: the logits, and with labels the summed cross-entropy and
/// its gradient with respect to the input (a saliency map), in the caller's [0, 1] pixel space.
struct Prediction {
    let logits: Tensor
    let loss: Float?
    let inputGradient: Tensor?

    /// How to read the model's first output.
    enum OutputKind {
        case logits
        case probabilities
    }

    /// - Throws: `RPCError` `.invalidArgument` for inputs that do not fit the model, `ONNXError` from
    ///   the import or the run.
    static func run(
        model: ONNXModel,
        input x: Tensor,
        labels: [Int],
        wantsGradient: Bool,
        preprocessing: (mean: [Float], std: [Float])?,
        declaredKind: OutputKind?
    ) throws -> Prediction {
        let graph = try ImportedGraph(model)
        guard graph.inputNames.count == 1, let inputName = graph.inputNames.first,
            let declared = model.summary.inputs.first
        else {
            throw RPCError(
                code: .invalidArgument,
                message: "the model has \(graph.inputNames.count) inputs \(graph.inputNames); predict feeds exactly one"
            )
        }
        try checkShape(x.shape, against: declared)
        let batch = x.shape[0]
        if wantsGradient && labels.isEmpty {
            throw RPCError(code: .invalidArgument, message: "input_gradient needs labels (one per batch row)")
        }
        if !labels.isEmpty && labels.count != batch {
            throw RPCError(code: .invalidArgument, message: "\(labels.count) labels for a batch of \(batch)")
        }

        // Which value holds the logits.
        let analysis = graph.outputAnalyses.first
        guard var outputName = graph.outputNames.first else {
            throw RPCError(code: .invalidArgument, message: "the model declares no outputs; predict needs one")
        }
        var takeLog = false
        let probabilities = declaredKind == .probabilities || (declaredKind == nil && analysis?.kind == .probabilities)
        if probabilities {
            if let logitsName = analysis?.logitsName, analysis?.kind == .probabilities {
                outputName = logitsName
            } else {
                takeLog = true
            }
        }

        func forward(_ input: Tensor) throws -> Tensor {
            var z = input
            if let preprocessing, !preprocessing.mean.isEmpty {
                let c = preprocessing.mean.count
                guard preprocessing.std.count == c, x.rank >= 2, x.shape[1] == c,
                    preprocessing.std.allSatisfy({ $0 > 0 && $0.isFinite })
                else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "preprocessing: \(c) means and \(preprocessing.std.count) stds (all > 0) are "
                            + "needed for an input with \(x.rank >= 2 ? x.shape[1] : 0) channels"
                    )
                }
                let shape = [1, c] + Array(repeating: 1, count: x.rank - 2)
                z =
                    (z - Tensor(shape: shape, scalars: preprocessing.mean))
                    / Tensor(shape: shape, scalars: preprocessing.std)
            }
            guard var y = try graph.run([inputName: z], outputs: [outputName])[outputName] else {
                throw RPCError(code: .internalError, message: "the model produced no value \(outputName)")
            }
            if takeLog { y = log(y + 1e-12) }
            if y.rank != 2 {
                guard y.rank >= 1, y.shape[0] == batch, y.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "the model's output has shape \(y.shape); predict needs (batch, classes)"
                    )
                }
                y = y.reshaped([batch, y.count / max(batch, 1)])
            }
            return y
        }

        if !wantsGradient {
            let logits = try withoutGradients { try forward(x) }
            return Prediction(logits: logits, loss: try loss(logits, labels), inputGradient: nil)
        }
        let tracked = x.tracked()
        let logits = try forward(tracked)
        try checkLabels(labels, classes: logits.shape[1])
        let total = crossEntropy(logits: logits, labels: labels) * Float(batch)
        let gradient = TensorEngine.gradient(of: total, wrt: [tracked])[0]
        return Prediction(logits: logits.detached, loss: total.scalars[0], inputGradient: gradient.detached)
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
