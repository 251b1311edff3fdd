import NN
import TensorEngine

/// An imported ONNX classifier as an NN ``Classifier``: its float weights are the parameters an
/// optimizer trains, its batch-norm statistics the buffers, and every 4-D intermediate tensor a
/// feature tap (named by its ONNX value name), so the trainers (fine-tuning, adversarial training,
/// Robust-KD) work on a user's graph as on a network built in NN.
///
/// The model must have one float input of shape (N, C, H, W) and produce logits as its first output
/// (a model ending in Softmax is run up to the Softmax's input: see `logitsName`). ``Classifier``'s
/// `logits` cannot throw: a run that fails records its error in ``lastError`` and returns zero logits
/// of the right shape; callers check ``lastError`` after each step (the dry run at construction makes
/// failures on well-shaped inputs unlikely).
public final class GraphClassifier: Classifier {
    public let graph: ImportedGraph
    /// The value the logits are read from.
    public let logitsName: String
    public let inputShape: [Int]
    public let classCount: Int
    /// The 4-D values of one example's run, in topological order, with their (C, H, W) shapes.
    public let featureShapes: [(name: String, shape: [Int])]
    /// The error of the last failed run, if any (cleared by ``clearError()``).
    public private(set) var lastError: (any Error)?
    /// Per-channel normalisation applied to [0, 1] inputs before the graph, `(x − mean[c]) / std[c]`.
    public let preprocessing: (mean: [Float], std: [Float])?

    public var featureTapNames: [String] { featureShapes.map(\.name) }
    public var parameters: [Parameter] { graph.parameters }
    public var buffers: [Buffer] { graph.buffers }

    /// Wraps `graph` for examples of `exampleShape` (C, H, W): runs one example to learn the class count
    /// and the feature maps' shapes.
    /// - Parameter logitsName: the value to read logits from (default: the first graph output, or the
    ///   input of a final Softmax/LogSoftmax producing it).
    /// - Throws: `ONNXError` when the graph has not one input or cannot run such an example.
    public init(
        _ graph: ImportedGraph,
        exampleShape: [Int],
        logitsName: String? = nil,
        preprocessing: (mean: [Float], std: [Float])? = nil
    ) throws {
        if let preprocessing {
            guard preprocessing.mean.count == exampleShape.first, preprocessing.std.count == exampleShape.first,
                preprocessing.std.allSatisfy({ $0 > 0 })
            else {
                throw ONNXError(
                    .invalidInput,
                    "preprocessing needs one mean and one std > 0 per channel (\(exampleShape.first ?? 0))"
                )
            }
        }
        self.preprocessing = preprocessing
        guard graph.inputNames.count == 1 else {
            throw ONNXError(
                .invalidInput,
                "a classifier takes one input; this graph takes \(graph.inputNames.count) (\(graph.inputNames))"
            )
        }
        guard exampleShape.count == 3 else {
            throw ONNXError(.invalidInput, "an example shape is (C, H, W), not \(exampleShape)")
        }
        self.graph = graph
        let output = graph.outputNames[0]
        var name = logitsName ?? output
        if logitsName == nil, let producer = graph.nodes.last(where: { $0.output.contains(output) }),
            producer.opType == "Softmax" || producer.opType == "LogSoftmax", let first = producer.input.first
        {
            name = first
        }
        self.logitsName = name
        inputShape = exampleShape
        // Every value a node produces, in order; the 4-D ones are the taps.
        var produced: [String] = []
        for node in graph.nodes { produced += node.output.filter { !$0.isEmpty } }
        let values = try withoutGradients {
            try graph.run([graph.inputNames[0]: Tensor(zeros: [1] + exampleShape)], outputs: [name] + produced)
        }
        guard let logits = values[name], logits.rank == 2 else {
            throw ONNXError(
                .invalidInput,
                "'\(name)' is \(values[name]?.shape ?? []) for one example; a classifier's logits are (N, classes)"
            )
        }
        classCount = logits.shape[1]
        var seen = Set<String>()
        featureShapes = produced.compactMap { value -> (String, [Int])? in
            guard let t = values[value], t.rank == 4, t.shape[0] == 1, seen.insert(value).inserted else { return nil }
            return (value, Array(t.shape.dropFirst()))
        }
    }

    public func clearError() { lastError = nil }

    public func logits(_ x: Tensor, context: ForwardContext) -> Tensor {
        forward(x, context: context, tapsOnly: false) ?? Tensor(zeros: [x.shape[0], classCount])
    }

    /// Runs the graph only up to the last node producing a requested tap.
    public func recordTaps(_ x: Tensor, context: ForwardContext) {
        _ = forward(x, context: context, tapsOnly: true)
    }

    /// The logits (nil when `tapsOnly`, or when the run failed: see ``lastError``).
    private func forward(_ x: Tensor, context: ForwardContext, tapsOnly: Bool) -> Tensor? {
        graph.isTraining = context.isTraining
        let taps = featureTapNames.filter { context.wants($0) }
        var input = x
        if let preprocessing {
            let c = preprocessing.mean.count
            let mean = Tensor(shape: [1, c, 1, 1], scalars: preprocessing.mean)
            let scale = Tensor(shape: [1, c, 1, 1], scalars: preprocessing.std.map { 1 / $0 })
            input = (x - mean) * scale
        }
        do {
            let values = try graph.run(
                [graph.inputNames[0]: input],
                outputs: (tapsOnly ? [] : [logitsName]) + taps,
                stoppingEarly: tapsOnly
            )
            for tap in taps { if let value = values[tap] { context.record(tap, value) } }
            if tapsOnly { return nil }
            guard let logits = values[logitsName] else {
                throw ONNXError(.invalidInput, "the run produced no '\(logitsName)'")
            }
            return logits
        } catch {
            lastError = error
            return nil
        }
    }
}
