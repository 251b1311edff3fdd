import TensorEngine

/// Conv → BatchNormalization folding for inference runs.
///
/// In inference the batch norm is an affine map per channel, so it folds into the convolution:
/// with a = γ/√(σ² + ε), W' = W·a (per output channel) and b' = β − μ·a (+ a·bias). The fold is
/// written in ops on the current values, so input gradients (attacks) and weight gradients are those
/// of the unfolded pair, and the graph costs one convolution pass instead of two. It applies when
/// the convolution's output feeds only that batch norm, is not a graph output, and is not asked for
/// by the caller; training runs never fold.
struct ConvBatchNormFolding {
    /// Topological index of the batch-norm node → index of the convolution it folds into.
    let convolutionForBatchNorm: [Int: Int]
    /// Indices of convolutions that may be skipped (their batch norm computes both).
    let foldedConvolutions: Set<Int>

    init(nodes: [Onnx_NodeProto], graphOutputs: Set<String>) {
        var consumers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.input) where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        var producer: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.output where !output.isEmpty { producer[output] = index }
        }
        var pairs: [Int: Int] = [:]
        for (index, node) in nodes.enumerated() where node.opType == "BatchNormalization" {
            guard node.input.count == 5, node.output.dropFirst().allSatisfy(\.isEmpty),
                node.attribute.allSatisfy({ $0.name != "training_mode" || $0.i == 0 }),
                let convIndex = producer[node.input[0]]
            else { continue }
            let conv = nodes[convIndex]
            guard conv.opType == "Conv", conv.output.count == 1, (2...3).contains(conv.input.count),
                consumers[conv.output[0]] == [index], !graphOutputs.contains(conv.output[0])
            else { continue }
            pairs[index] = convIndex
        }
        self.convolutionForBatchNorm = pairs
        self.foldedConvolutions = Set(pairs.values)
    }

    /// The folded pairs whose convolution output the caller does not ask for.
    func active(excluding wanted: Set<String>, nodes: [Onnx_NodeProto]) -> ConvBatchNormFolding {
        guard !wanted.isEmpty else { return self }
        let kept = convolutionForBatchNorm.filter { !wanted.contains(nodes[$0.value].output[0]) }
        return ConvBatchNormFolding(convolutionForBatchNorm: kept, foldedConvolutions: Set(kept.values))
    }

    private init(convolutionForBatchNorm: [Int: Int], foldedConvolutions: Set<Int>) {
        self.convolutionForBatchNorm = convolutionForBatchNorm
        self.foldedConvolutions = foldedConvolutions
    }

    static let none = ConvBatchNormFolding(convolutionForBatchNorm: [:], foldedConvolutions: [])

    /// Runs `conv` with `batchNorm` folded into its weights. `context` is the batch norm's context;
    /// `convolutionInputs` are the convolution's (x, W, optional bias).
    static func run(
        convolution conv: Onnx_NodeProto,
        inputs convolutionInputs: [Value?],
        batchNorm context: NodeContext
    ) throws -> [Value] {
        let weight = try context.tensor(1)
        let offset = try context.tensor(2)
        let mean = try context.tensor(3)
        let variance = try context.tensor(4)
        let convContext = NodeContext(
            node: conv,
            inputs: convolutionInputs,
            opset: context.opset,
            limits: context.limits,
            run: context.run
        )
        let w = try convContext.tensor(1)
        let k = w.rank >= 1 ? w.shape[0] : -1
        guard w.rank == 4, [weight, offset, mean, variance].allSatisfy({ $0.shape == [k] }) else {
            // Not the 2-D case the fold is written for: run the pair as it is.
            let y = try NetworkOperators.conv(convContext)
            return try BatchNormOperator.batchNormalization(
                NodeContext(
                    node: context.node,
                    inputs: [y[0]] + context.inputs.dropFirst(),
                    opset: context.opset,
                    limits: context.limits,
                    run: context.run
                )
            )
        }
        let epsilon = context.float("epsilon", default: 1e-5)
        let a = weight / sqrt(variance + epsilon)
        let foldedWeight = w * a.reshaped([k, 1, 1, 1])
        var foldedBias = offset - mean * a
        if let bias = convContext.optionalInput(2) { foldedBias = foldedBias + bias.asTensor * a }
        return try NetworkOperators.conv(
            NodeContext(
                node: conv,
                inputs: [try convContext.input(0), .float(foldedWeight), .float(foldedBias)],
                opset: context.opset,
                limits: context.limits,
                run: context.run
            )
        )
    }
}
