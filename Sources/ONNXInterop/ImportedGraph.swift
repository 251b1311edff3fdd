import Foundation
import NN
import TensorEngine

/// An ONNX graph imported as an executable program over TensorEngine ops.
///
/// Float initializers that feed weights (Conv, Gemm and MatMul operands, batch-norm scale and
/// bias, PRelu slopes) become trainable `Parameter`s, so a pass can be differentiated with respect
/// to them and an optimizer can update them; batch-norm running statistics become `Buffer`s; every
/// other initializer is a constant (see ``InitializerRole`` and ``ImportOptions``). Nodes run in
/// topological order; every op is a TensorEngine op, so input gradients, weight gradients and
/// second order work through an imported graph as through a hand-built one.
public final class ImportedGraph {
    let model: ONNXModel
    let nodes: [Onnx_NodeProto]
    let constants: [String: Value]
    /// The trainable weights, by initializer name, in initializer order.
    public let parameters: [Parameter]
    /// The batch-norm running statistics, updated by runs in training mode.
    public let buffers: [Buffer]
    /// The role each float initializer was given, by initializer name.
    public let roles: [String: InitializerRole]
    /// The names a caller must feed, in graph order.
    public let inputNames: [String]
    /// The graph outputs, in graph order.
    public let outputNames: [String]
    /// Whether runs use batch statistics in BatchNormalization and update the running statistics
    /// (as a PyTorch module in `train()` mode; Dropout stays the identity either way).
    public var isTraining = false
    /// For each value name, the topological index of the last node that reads it.
    let lastUse: [String: Int]
    /// Every name some node produces.
    let producedNames: Set<String>
    /// The Conv → BatchNormalization pairs folded in inference runs.
    let folding: ConvBatchNormFolding
    /// The Conv (→ Add) → Relu chains run as one convolution with an epilogue (inference runs).
    let epilogueChains: ConvEpilogueChains
    /// The chains of training runs: BatchNormalization (→ Add) → Relu with the epilogue in the
    /// normalisation pass, and Conv chains without a batch norm.
    let trainingEpilogueChains: ConvEpilogueChains

    /// Imports a parsed model: decodes initializers, gives each float initializer its role, orders
    /// the nodes, and checks that every operator is supported, naming the first node that is not.
    public init(_ model: ONNXModel, options: ImportOptions = ImportOptions()) throws {
        self.model = model
        let graph = model.proto.graph
        var roleByName: [String: InitializerRole] = [:]
        for node in graph.node {
            for (index, name) in node.input.enumerated() where !name.isEmpty {
                let role = InitializerRole.of(opType: node.opType, inputIndex: index)
                if role.precedence > (roleByName[name]?.precedence ?? -1) { roleByName[name] = role }
            }
        }
        var constants: [String: Value] = [:]
        var parameters: [Parameter] = []
        var buffers: [Buffer] = []
        var roles: [String: InitializerRole] = [:]
        for initializer in graph.initializer {
            let value = try TensorDecoding.decode(initializer, limits: model.limits)
            guard case .float(let t) = value else {
                constants[initializer.name] = value
                continue
            }
            var role = roleByName[initializer.name] ?? .constant
            if options.alsoTrainable.contains(initializer.name) { role = .weight }
            if options.frozen.contains(initializer.name) { role = .constant }
            roles[initializer.name] = role
            switch role {
            case .weight: parameters.append(Parameter(name: initializer.name, value: t))
            case .runningStatistic: buffers.append(Buffer(name: initializer.name, value: t))
            case .constant: constants[initializer.name] = value
            }
        }
        for name in options.alsoTrainable.union(options.frozen).sorted() where roles[name] == nil {
            throw ONNXError(
                .invalidInput,
                "'\(name)' was marked trainable or frozen but is not a float initializer of the model; "
                    + "its float initializers are \(roles.keys.sorted())"
            )
        }
        self.constants = constants
        self.parameters = parameters
        self.buffers = buffers
        self.roles = roles
        self.inputNames = model.inputNames
        self.outputNames = model.outputNames
        self.nodes = try ONNXModel.topologicalOrder(
            graph,
            available: Set(graph.initializer.map(\.name) + model.inputNames)
        )
        let producedNames = Set(nodes.flatMap(\.output).filter { !$0.isEmpty })
        let available = Set(graph.initializer.map(\.name) + model.inputNames)
        for name in model.outputNames where !producedNames.contains(name) && !available.contains(name) {
            throw ONNXError(.invalidGraph, "graph output '\(name)' is produced by no node, initializer or input")
        }
        let folding = ConvBatchNormFolding(nodes: nodes, graphOutputs: Set(model.outputNames))
        var lastUse: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for input in node.input where !input.isEmpty { lastUse[input] = index }
        }
        // A folded convolution runs when its batch norm does: its inputs live until then.
        for (batchNorm, conv) in folding.convolutionForBatchNorm {
            for input in nodes[conv].input where !input.isEmpty { lastUse[input] = max(lastUse[input] ?? 0, batchNorm) }
        }
        // A fused chain runs at its last node: what its convolution and Add read lives until then.
        let chains = ConvEpilogueChains(nodes: nodes, graphOutputs: Set(model.outputNames), folding: folding)
        let trainingChains = ConvEpilogueChains(
            nodes: nodes,
            graphOutputs: Set(model.outputNames),
            folding: folding,
            training: true
        )
        for (name, until) in chains.reads(nodes, folding: folding) + trainingChains.reads(nodes, folding: folding) {
            lastUse[name] = max(lastUse[name] ?? 0, until)
        }
        self.lastUse = lastUse
        self.producedNames = producedNames
        self.folding = folding
        self.epilogueChains = chains
        self.trainingEpilogueChains = trainingChains
        for value in graph.input + graph.output {
            guard case .tensorType = value.type.value else {
                throw ONNXError(
                    .unsupported,
                    "graph value '\(value.name)' is not a tensor (sequence, map or optional "
                        + "types are not supported); rkd imports image classifiers with tensor inputs and outputs"
                )
            }
        }
        for node in nodes {
            guard !node.domain.isEmpty && node.domain != "ai.onnx" ? false : true else {
                throw ONNXError(
                    .unsupported,
                    "operator domain '\(node.domain)' (\(node.opType)) is not supported; "
                        + "only the default ONNX domain is",
                    node: node.name
                )
            }
            guard OperatorRegistry.operators[node.opType] != nil else {
                throw ONNXError(
                    .unsupported,
                    "operator \(node.opType) (opset \(model.opsetVersion)) is not supported "
                        + "by rkd; see docs/onnx-conformance.md for the supported set, or re-export the model "
                        + "with supported operators",
                    node: node.name
                )
            }
        }
    }

    /// Runs the graph on `inputs` and returns the values named in `outputs` (default: the graph
    /// outputs). Any intermediate value name may be asked for (feature maps for distillation).
    /// With `stoppingEarly`, the nodes after the last one producing an asked-for value do not run
    /// (nor, in training mode, update their batch-norm statistics).
    public func run(
        _ inputs: [String: Tensor],
        outputs: [String]? = nil,
        stoppingEarly: Bool = false
    ) throws -> [String: Tensor] {
        var values: [String: Value] = constants
        for p in parameters { values[p.name] = .float(p.value) }
        for b in buffers { values[b.name] = .float(b.value) }
        for name in inputNames {
            guard let x = inputs[name] else {
                throw ONNXError(.invalidInput, "input '\(name)' was not given; the model's inputs are \(inputNames)")
            }
            let declared = model.proto.graph.input.first { $0.name == name }?.type.tensorType.elemType
            values[name] = try Value.graphInput(x, named: name, elementType: declared)
        }
        let wanted = outputs ?? outputNames
        for name in wanted where values[name] == nil && lastUse[name] == nil && !producedNames.contains(name) {
            throw ONNXError(
                .invalidInput,
                "no value named '\(name)' in the graph; ask for a graph output, an input or a node output"
            )
        }
        let wantedSet = Set(wanted)
        let state = RunState(isTraining: isTraining)
        let fold = isTraining ? ConvBatchNormFolding.none : folding.active(excluding: wantedSet, nodes: nodes)
        let chains = (isTraining ? trainingEpilogueChains : epilogueChains).active(excluding: wantedSet, fold: fold)
        let lastNeeded =
            stoppingEarly
            ? (nodes.lastIndex { node in node.output.contains { wantedSet.contains($0) } } ?? -1) : nodes.count - 1
        for (index, node) in nodes.enumerated()
        where !fold.foldedConvolutions.contains(index) && !chains.absorbed.contains(index) {
            if index > lastNeeded { break }
            let args = node.input.map { $0.isEmpty ? nil : values[$0] }
            let context = NodeContext(
                node: node,
                inputs: args,
                opset: model.opsetVersion,
                limits: model.limits,
                run: state
            )
            guard let implementation = OperatorRegistry.operators[node.opType] else {
                throw context.error(.unsupported, "operator not supported")
            }
            let results: [Value]
            if let chain = chains.chainEndingAt[index] {
                results = try runChain(chain, values: values, state: state)
            } else if let convIndex = fold.convolutionForBatchNorm[index] {
                let conv = nodes[convIndex]
                results = try ConvBatchNormFolding.run(
                    convolution: conv,
                    inputs: conv.input.map { $0.isEmpty ? nil : values[$0] },
                    batchNorm: context
                )
            } else {
                results = try implementation(context)
            }
            for (name, value) in zip(node.output, results) where !name.isEmpty {
                guard value.shape.reduce(1, *) <= model.limits.maximumTensorElements else {
                    throw context.error(.limitExceeded, "output '\(name)' would have shape \(value.shape)")
                }
                values[name] = value
            }
            // Free what no later node reads (the tape keeps what a gradient needs).
            for name in node.input where !name.isEmpty && lastUse[name] == index && !wantedSet.contains(name) {
                values[name] = nil
            }
        }
        var result: [String: Tensor] = [:]
        for name in wanted {
            guard let v = values[name] else {
                throw ONNXError(.invalidInput, "no value named '\(name)' in the graph")
            }
            result[name] = v.asTensor
        }
        applyStatistics(state.updates)
        return result
    }

    /// Folds training-mode batch statistics into the running-statistic buffers, as PyTorch does:
    /// running = momentum · old + (1 − momentum) · batch, with the batch's unbiased variance
    /// (ONNX's `momentum` is the weight of the old value).
    func applyStatistics(_ updates: [RunState.StatisticsUpdate]) {
        for update in updates {
            let m = update.count
            let correction = m > 1 ? Float(Double(m) / Double(m - 1)) : 1
            if let buffer = buffers.first(where: { $0.name == update.meanName }) {
                let old = buffer.value.scalars
                buffer.value = Tensor(
                    shape: buffer.shape,
                    scalars: zip(old, update.mean).map { update.momentum * $0 + (1 - update.momentum) * $1 }
                )
            }
            if let buffer = buffers.first(where: { $0.name == update.varianceName }) {
                let old = buffer.value.scalars
                buffer.value = Tensor(
                    shape: buffer.shape,
                    scalars: zip(old, update.variance).map {
                        update.momentum * $0 + (1 - update.momentum) * $1 * correction
                    }
                )
            }
        }
    }
}
