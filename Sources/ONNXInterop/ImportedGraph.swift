import Foundation
import NN
import TensorEngine

/// An ONNX graph imported as an executable program over TensorEngine ops.
///
/// Float initializers become `Parameter`s (so a pass can be differentiated with respect to them and
/// an optimizer can update them); integer initializers stay constants. Nodes run in topological
/// order; every op is a TensorEngine op, so input gradients, weight gradients and second order work
/// through an imported graph as through a hand-built one.
public final class ImportedGraph {
    let model: ONNXModel
    let nodes: [Onnx_NodeProto]
    let constants: [String: Value]
    /// The float initializers, as trainable parameters, by initializer name.
    public let parameters: [Parameter]
    let parameterByName: [String: Parameter]
    /// The names a caller must feed, in graph order.
    public let inputNames: [String]
    /// The graph outputs, in graph order.
    public let outputNames: [String]

    /// Imports a parsed model: decodes initializers, orders the nodes, and checks that every
    /// operator is supported, naming the first node that is not.
    public init(_ model: ONNXModel) throws {
        self.model = model
        let graph = model.proto.graph
        var constants: [String: Value] = [:]
        var parameters: [Parameter] = []
        for initializer in graph.initializer {
            let value = try TensorDecoding.decode(initializer, limits: model.limits)
            switch value {
            case .float(let t): parameters.append(Parameter(name: initializer.name, value: t))
            case .int: constants[initializer.name] = value
            }
        }
        self.constants = constants
        self.parameters = parameters
        self.parameterByName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.inputNames = model.inputNames
        self.outputNames = model.outputNames
        self.nodes = try ImportedGraph.topologicalOrder(
            graph,
            available: Set(graph.initializer.map(\.name) + model.inputNames)
        )
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

    /// Orders nodes so that each runs after the producers of its inputs; fails on cycles and on
    /// inputs nothing produces.
    static func topologicalOrder(_ graph: Onnx_GraphProto, available: Set<String>) throws -> [Onnx_NodeProto] {
        var produced = available
        var remaining = Array(graph.node.enumerated())
        var order: [Onnx_NodeProto] = []
        order.reserveCapacity(remaining.count)
        // Kahn's algorithm by repeated sweeps; graphs from exporters are already sorted, so one sweep suffices.
        while !remaining.isEmpty {
            var next: [(offset: Int, element: Onnx_NodeProto)] = []
            var progressed = false
            for entry in remaining {
                if entry.element.input.allSatisfy({ $0.isEmpty || produced.contains($0) }) {
                    order.append(entry.element)
                    for output in entry.element.output where !output.isEmpty { produced.insert(output) }
                    progressed = true
                } else {
                    next.append(entry)
                }
            }
            if !progressed {
                let node = next[0].element
                let missing = node.input.filter { !$0.isEmpty && !produced.contains($0) }
                let producedSomewhere = Set(graph.node.flatMap(\.output))
                let cyclic = missing.allSatisfy { producedSomewhere.contains($0) }
                throw ONNXError(
                    .invalidGraph,
                    cyclic
                        ? "the graph has a cycle through inputs \(missing); ONNX graphs must be acyclic"
                        : "input \(missing) is produced by no node, initializer or graph input",
                    node: node.name
                )
            }
            remaining = next
        }
        return order
    }

    /// Runs the graph on `inputs` and returns the values named in `outputs` (default: the graph
    /// outputs). Any intermediate value name may be asked for (feature maps for distillation).
    public func run(_ inputs: [String: Tensor], outputs: [String]? = nil) throws -> [String: Tensor] {
        var values: [String: Value] = constants
        for p in parameters { values[p.name] = .float(p.value) }
        for name in inputNames {
            guard let x = inputs[name] else {
                throw ONNXError(.invalidInput, "input '\(name)' was not given; the model's inputs are \(inputNames)")
            }
            values[name] = .float(x)
        }
        let wanted = outputs ?? outputNames
        for node in nodes {
            let args = node.input.map { $0.isEmpty ? nil : values[$0] }
            let context = NodeContext(node: node, inputs: args, opset: model.opsetVersion, limits: model.limits)
            guard let implementation = OperatorRegistry.operators[node.opType] else {
                throw context.error(.unsupported, "operator not supported")
            }
            let results = try implementation(context)
            for (name, value) in zip(node.output, results) where !name.isEmpty {
                guard value.shape.reduce(1, *) <= model.limits.maximumTensorElements else {
                    throw context.error(.limitExceeded, "output '\(name)' would have shape \(value.shape)")
                }
                values[name] = value
            }
        }
        var result: [String: Tensor] = [:]
        for name in wanted {
            guard let v = values[name] else {
                throw ONNXError(.invalidInput, "no value named '\(name)' in the graph")
            }
            result[name] = v.asTensor
        }
        return result
    }
}
