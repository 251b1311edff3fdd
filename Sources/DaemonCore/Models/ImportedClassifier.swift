import Attacks
import Foundation
import GRPCCore
import ONNXInterop
import TensorEngine

/// An imported ONNX classifier as Predict and the audit use it: one input, logits out, preprocessing
/// applied inside (so callers work in [0, 1] pixels). A model whose output is Softmax probabilities is
/// run up to the logits that feed the Softmax; when those cannot be found, the log of the
/// probabilities is taken (logits up to a per-example constant).
struct ImportedClassifier: AttackModel {
    /// How to read the model's first output.
    enum OutputKind: String {
        case logits
        case probabilities
    }

    let graph: ImportedGraph
    let inputName: String
    let declaredInput: ModelSummary.ValueSummary
    let outputName: String
    let takeLog: Bool
    let preprocessing: (mean: [Float], std: [Float])?
    /// How the logits were obtained when the model outputs probabilities (for reports), else nil.
    let outputNote: String?
    /// (C, H, W), from the declared input shape; empty when it is symbolic.
    let inputShape: [Int]
    /// Set by ``measure(batch:)`` from a dry run; 0 before.
    private(set) var classCount = 0
    var inputBounds: ClosedRange<Float> { 0...1 }

    /// - Throws: `RPCError` `.invalidArgument` for a model that is not a one-input classifier or for
    ///   bad preprocessing, `ONNXError` from the import.
    init(
        model: ONNXModel,
        preprocessing: (mean: [Float], std: [Float])?,
        declaredKind: OutputKind?
    ) throws {
        graph = try ImportedGraph(model)
        guard graph.inputNames.count == 1, let inputName = graph.inputNames.first,
            let declared = model.summary.inputs.first
        else {
            throw RPCError(
                code: .invalidArgument,
                message: "the model has \(graph.inputNames.count) inputs \(graph.inputNames); rkd feeds exactly one "
                    + "(an image batch)"
            )
        }
        guard var outputName = graph.outputNames.first else {
            throw RPCError(code: .invalidArgument, message: "the model declares no outputs; rkd needs its logits")
        }
        self.inputName = inputName
        declaredInput = declared
        let analysis = graph.outputAnalyses.first
        var takeLog = false
        var note: String?
        let probabilities = declaredKind == .probabilities || (declaredKind == nil && analysis?.kind == .probabilities)
        if probabilities {
            if let logitsName = analysis?.logitsName, analysis?.kind == .probabilities {
                outputName = logitsName
                note =
                    "The model outputs Softmax probabilities (node '\(analysis?.softmaxNode ?? "?")'); rkd attacks the "
                    + "logits that feed it ('\(logitsName)')."
            } else {
                takeLog = true
                note = "The model outputs probabilities and no Softmax input was found; rkd attacks their log."
            }
        }
        self.outputName = outputName
        self.takeLog = takeLog
        outputNote = note
        if let preprocessing, !preprocessing.mean.isEmpty {
            guard preprocessing.std.count == preprocessing.mean.count,
                preprocessing.std.allSatisfy({ $0 > 0 && $0.isFinite })
            else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "preprocessing: \(preprocessing.mean.count) means and \(preprocessing.std.count) stds "
                        + "(all > 0) are needed, one of each per channel"
                )
            }
            self.preprocessing = preprocessing
        } else {
            self.preprocessing = nil
        }
        inputShape = declared.shape.dropFirst().compactMap { if case .size(let n) = $0 { n } else { nil } }
    }

    /// Checks a batch's shape against the declared input.
    func checkShape(_ shape: [Int]) throws {
        try Prediction.checkShape(shape, against: declaredInput)
    }

    /// Runs one example of shape `[1] + exampleShape` to learn the class count (and fail early with the
    /// model's own error when it cannot run such inputs).
    mutating func measure(exampleShape: [Int]) throws {
        try checkShape([1] + exampleShape)
        let z = try withoutGradients { try logits(Tensor(zeros: [1] + exampleShape)) }
        classCount = z.shape[1]
    }

    /// The logits (N, classes) of x (N, C, H, W); recorded when x is tracked.
    func logits(_ x: Tensor) throws -> Tensor {
        var z = x
        let batch = x.shape[0]
        if let preprocessing {
            let c = preprocessing.mean.count
            guard x.rank >= 2, x.shape[1] == c else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "preprocessing has \(c) channels but the input has shape \(x.shape)"
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
                    message: "the model's output has shape \(y.shape); rkd needs (batch, classes)"
                )
            }
            y = y.reshaped([batch, y.count / max(batch, 1)])
        }
        return y
    }
}

extension ONNXModel {
    /// Parses a model with the daemon's limits; a graph-size limit error says which setting to raise.
    static func limited(_ bytes: Data, limits: ImportLimits) throws -> ONNXModel {
        do {
            return try ONNXModel(serialized: bytes, limits: limits)
        } catch var error as ONNXError where error.code == .limitExceeded && error.message.contains("nodes") {
            error.message += " (in rkdd, the setting is maxGraphNodes in rkdd.conf, now \(limits.maximumNodes))"
            throw error
        }
    }
}
