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
        try run(convolution: conv, inputs: convolutionInputs, batchNorm: context, epilogue: nil).output
    }

    /// `run`, with a fused chain's epilogue passed to the folded convolution (`fused` tells whether
    /// it applied, as `NetworkOperators.convolution`).
    static func run(
        convolution conv: Onnx_NodeProto,
        inputs convolutionInputs: [Value?],
        batchNorm context: NodeContext,
        epilogue: NetworkOperators.Epilogue?
    ) throws -> (output: [Value], fused: Bool) {
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
            let output = try BatchNormOperator.batchNormalization(
                NodeContext(
                    node: context.node,
                    inputs: [y[0]] + context.inputs.dropFirst(),
                    opset: context.opset,
                    limits: context.limits,
                    run: context.run
                )
            )
            return (output, false)
        }
        let epsilon = context.float("epsilon", default: 1e-5)
        let a = weight / sqrt(variance + epsilon)
        let foldedWeight = w * a.reshaped([k, 1, 1, 1])
        var foldedBias = offset - mean * a
        if let bias = convContext.optionalInput(2) { foldedBias = foldedBias + bias.asTensor * a }
        let result = try NetworkOperators.convolution(
            NodeContext(
                node: conv,
                inputs: [try convContext.input(0), .float(foldedWeight), .float(foldedBias)],
                opset: context.opset,
                limits: context.limits,
                run: context.run
            ),
            epilogue: epilogue
        )
        return ([.float(result.output)], result.fused)
    }
}

/// Conv → Add → Relu, Conv → Relu and Conv → Add chains (the Conv possibly a Conv → BatchNormalization
/// pair folded in inference) run as one convolution whose epilogue adds the residual and applies
/// the relu as it stores its results (`fusedConv2d`), instead of three passes over the output.
///
/// A chain forms only where each intermediate value feeds nothing but the next node of the chain
/// and is not a graph output; a run that asks for an intermediate value does not fuse that chain.
/// Values and derivatives equal those of the separate nodes; a residual that is not a float tensor
/// of exactly the convolution's output shape (an Add that broadcasts) runs the nodes one by one.
struct ConvEpilogueChains {
    /// What computes the value the epilogue applies to.
    enum Head {
        /// A Conv node.
        case convolution
        /// A BatchNormalization node a Conv folds into (inference).
        case foldedBatchNorm
        /// A BatchNormalization node on its own (training runs, batch statistics).
        case batchNorm
    }

    struct Chain {
        /// The node computing the value: a Conv, or a BatchNormalization (see `kind`).
        let head: Int
        let kind: Head
        /// The Add node, when the chain adds a residual.
        let add: Int?
        /// The Add's other operand.
        let residual: String?
        let relu: Int?
        /// The chain's last node: its output is the chain's result.
        let last: Int
        /// The values computed on the way (the head's and the Add's outputs before the Relu).
        let intermediates: [String]
    }

    /// Chains by the topological index of their last node.
    let chainEndingAt: [Int: Chain]
    /// Nodes that run inside a chain (every node of a chain but its last).
    let absorbed: Set<Int>

    /// The chains of inference runs (`training` false: Conv heads and the folded Conv →
    /// BatchNormalization pairs of `folding`) or of training runs (Conv heads not followed by a batch
    /// norm, and batch norms with one output, which normalise with batch statistics there).
    init(nodes: [Onnx_NodeProto], graphOutputs: Set<String>, folding: ConvBatchNormFolding, training: Bool = false) {
        var consumers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.input) where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        /// The single node reading `value`, if exactly one does and `value` is not a graph output.
        func soleConsumer(_ value: String) -> Int? {
            guard !graphOutputs.contains(value), let readers = consumers[value], readers.count == 1 else { return nil }
            return readers[0]
        }
        var chains: [Int: Chain] = [:]
        for (index, node) in nodes.enumerated() {
            let kind: Head
            if node.opType == "Conv" && (training || !folding.foldedConvolutions.contains(index)) {
                kind = .convolution
            } else if node.opType == "BatchNormalization" && !training && folding.convolutionForBatchNorm[index] != nil
            {
                kind = .foldedBatchNorm
            } else if node.opType == "BatchNormalization" && training && node.output.dropFirst().allSatisfy(\.isEmpty) {
                kind = .batchNorm
            } else {
                continue
            }
            guard let output = node.output.first, !output.isEmpty, let next = soleConsumer(output) else { continue }
            var add: Int?
            var residual: String?
            var relu: Int?
            var intermediates = [output]
            let nextNode = nodes[next]
            if nextNode.opType == "Add", nextNode.input.count == 2, nextNode.attribute.isEmpty,
                let other = nextNode.input.first(where: { $0 != output }), !other.isEmpty,
                nextNode.input.contains(output), nextNode.output.count == 1
            {
                add = next
                residual = other
                let sum = nextNode.output[0]
                if let after = soleConsumer(sum), Self.isRelu(nodes[after], reading: sum) {
                    relu = after
                    intermediates.append(sum)
                }
            } else if Self.isRelu(nextNode, reading: output) {
                relu = next
            } else {
                continue
            }
            // Two convolutions may meet at one Add (a residual block with a projection shortcut):
            // the first in topological order takes the chain, the other's output is its residual.
            guard let last = relu ?? add, chains[last] == nil else { continue }
            chains[last] = Chain(
                head: index,
                kind: kind,
                add: add,
                residual: residual,
                relu: relu,
                last: last,
                intermediates: intermediates
            )
        }
        self.init(chainEndingAt: chains)
    }

    private init(chainEndingAt: [Int: Chain]) {
        self.chainEndingAt = chainEndingAt
        absorbed = Set(chainEndingAt.values.flatMap { [$0.head] + ($0.add.map { [$0] } ?? []) }).subtracting(
            chainEndingAt.keys
        )
    }

    private static func isRelu(_ node: Onnx_NodeProto, reading value: String) -> Bool {
        node.opType == "Relu" && node.input == [value] && node.output.count == 1 && node.attribute.isEmpty
    }

    static let none = ConvEpilogueChains(chainEndingAt: [:])

    /// The chains a run may fuse: none whose intermediate values the caller asks for, and none
    /// headed by a folded batch norm whose fold `fold` does not make.
    func active(excluding wanted: Set<String>, fold: ConvBatchNormFolding) -> ConvEpilogueChains {
        let kept = chainEndingAt.filter { _, chain in
            chain.intermediates.allSatisfy { !wanted.contains($0) }
                && (chain.kind != .foldedBatchNorm || fold.convolutionForBatchNorm[chain.head] != nil)
        }
        return kept.count == chainEndingAt.count ? self : ConvEpilogueChains(chainEndingAt: kept)
    }

    /// The value names each chain reads: they must live until the chain's last node runs.
    func reads(_ nodes: [Onnx_NodeProto], folding: ConvBatchNormFolding) -> [(name: String, until: Int)] {
        chainEndingAt.values.flatMap { chain -> [(name: String, until: Int)] in
            var names = nodes[chain.head].input
            if chain.kind == .foldedBatchNorm, let conv = folding.convolutionForBatchNorm[chain.head] {
                names += nodes[conv].input
            }
            if let residual = chain.residual { names.append(residual) }
            return names.filter { !$0.isEmpty }.map { ($0, chain.last) }
        }
    }
}

extension ImportedGraph {
    /// Runs a fused chain at its last node: the convolution (folded with its batch norm when the
    /// chain's head is one) with the residual and relu in its epilogue, or, when the residual does not
    /// fit that, the chain's Add and Relu nodes one by one after it. Returns the last node's outputs.
    func runChain(
        _ chain: ConvEpilogueChains.Chain,
        values: [String: Value],
        state: RunState
    ) throws -> [Value] {
        func context(_ index: Int, _ inputs: [Value?]) -> NodeContext {
            NodeContext(node: nodes[index], inputs: inputs, opset: model.opsetVersion, limits: model.limits, run: state)
        }
        func inputs(_ index: Int) -> [Value?] { nodes[index].input.map { $0.isEmpty ? nil : values[$0] } }
        var residual: Tensor?
        var fusable = true
        if let name = chain.residual {
            if case .float(let t) = values[name] { residual = t } else { fusable = false }
        }
        let epilogue = fusable ? NetworkOperators.Epilogue(residual: residual, relu: chain.relu != nil) : nil
        let head: (output: [Value], fused: Bool)
        switch chain.kind {
        case .foldedBatchNorm:
            guard let conv = folding.convolutionForBatchNorm[chain.head] else {
                preconditionFailure("runChain: the folded batch norm \(chain.head) has no convolution")
            }
            head = try ConvBatchNormFolding.run(
                convolution: nodes[conv],
                inputs: inputs(conv),
                batchNorm: context(chain.head, inputs(chain.head)),
                epilogue: epilogue
            )
        case .batchNorm:
            head = try BatchNormOperator.batchNormalization(context(chain.head, inputs(chain.head)), epilogue: epilogue)
        case .convolution:
            let result = try NetworkOperators.convolution(context(chain.head, inputs(chain.head)), epilogue: epilogue)
            head = ([.float(result.output)], result.fused)
        }
        if head.fused { return head.output }
        // Node by node: the head's output through the Add (if any), then the Relu (if any).
        func run(_ index: Int, _ args: [Value?]) throws -> Value {
            let node = context(index, args)
            guard let implementation = OperatorRegistry.operators[nodes[index].opType] else {
                throw node.error(.unsupported, "operator not supported")
            }
            return try implementation(node)[0]
        }
        var current = head.output[0]
        if let add = chain.add {
            let headOutput = nodes[chain.head].output[0]
            current = try run(
                add,
                nodes[add].input.map { $0 == headOutput ? current : ($0.isEmpty ? nil : values[$0]) }
            )
        }
        if let relu = chain.relu { current = try run(relu, [current]) }
        return [current]
    }
}
