/// Strict validation: what onnxruntime refuses as ambiguous or from the future, rkd refuses too, with
/// the reason, instead of guessing at semantics the model does not define.
extension ONNXModel {
    /// The IR versions rkd reads: 3 (ONNX 1.0, the first with opset imports) to 11 (ONNX 1.18).
    public static let supportedIRVersions = 3...11
    /// The newest default-domain (ai.onnx) opset the importer implements.
    public static let newestOpset = 21

    /// Attributes whose type is the same in every operator the importer implements.
    static let attributeTypes: [String: Onnx_AttributeProto.AttributeType] = [
        "kernel_shape": .ints, "strides": .ints, "pads": .ints, "dilations": .ints, "perm": .ints,
        "output_padding": .ints, "output_shape": .ints, "group": .int, "axis": .int, "keepdims": .int,
        "transA": .int, "transB": .int, "ceil_mode": .int, "count_include_pad": .int, "storage_order": .int,
        "noop_with_empty_axes": .int, "allowzero": .int, "epsilon": .float, "momentum": .float, "alpha": .float,
        "beta": .float, "gamma": .float, "auto_pad": .string, "to": .int,
    ]

    static func validateStrictly(_ proto: Onnx_ModelProto) throws {
        guard supportedIRVersions.contains(Int(proto.irVersion)) else {
            throw ONNXError(
                .unsupported,
                "the model's IR version is \(proto.irVersion); rkd reads IR versions \(supportedIRVersions.lowerBound) "
                    + "to \(supportedIRVersions.upperBound) (what onnxruntime reads too): re-export the model with "
                    + "an ONNX release in that range"
            )
        }
        var domains: Set<String> = []
        for opset in proto.opsetImport {
            let domain = opset.domain == "ai.onnx" ? "" : opset.domain
            guard domains.insert(domain).inserted else {
                throw ONNXError(
                    .invalidGraph,
                    "opset_import names the domain '\(opset.domain)' twice, so its operators' versions are ambiguous; "
                        + "re-export the model"
                )
            }
            if domain.isEmpty {
                guard opset.version >= 1, opset.version <= Int64(newestOpset) else {
                    throw ONNXError(
                        .unsupported,
                        "the model uses ai.onnx opset \(opset.version); rkd implements opsets 1 to \(newestOpset): "
                            + "re-export it with opset_version ≤ \(newestOpset) (e.g. torch.onnx.export(..., "
                            + "opset_version=\(min(17, newestOpset))))"
                    )
                }
            }
        }
        guard domains.contains("") else {
            throw ONNXError(
                .invalidGraph,
                "the model imports no default-domain (ai.onnx) opset, so its operators' versions are undefined; "
                    + "re-export it (every exporter writes opset_import)"
            )
        }
        try validateGraph(proto.graph, scope: "the main graph", outer: [])
    }

    /// Single assignment, unique attributes of the expected types and one data field per tensor, in
    /// a graph and (recursively) its subgraphs; `outer` holds the names visible from enclosing graphs.
    static func validateGraph(_ graph: Onnx_GraphProto, scope: String, outer: Set<String>) throws {
        guard !graph.output.isEmpty || scope != "the main graph" else {
            throw ONNXError(
                .invalidGraph,
                "the graph declares no outputs, so there is nothing to run; ONNX requires at least one graph "
                    + "output (onnxruntime refuses such a model too): re-export the model with its logits as an output"
            )
        }
        var initializers: Set<String> = []
        for initializer in graph.initializer {
            guard initializers.insert(initializer.name).inserted else {
                throw ONNXError(
                    .invalidGraph,
                    "two initializers of \(scope) are named '\(initializer.name)'; a name must have one value"
                )
            }
            try validateTensor(initializer, place: "initializer '\(initializer.name)'")
        }
        for value in graph.input + graph.output {
            guard case .tensorType(let tensor) = value.type.value else { continue }
            if let bad = tensor.shape.dim.first(where: { $0.dimValue < 0 }) {
                throw ONNXError(
                    .invalidGraph,
                    "\(scope) declares '\(value.name)' with the dimension \(bad.dimValue); sizes are ≥ 0 (use a "
                        + "symbolic dimension for a size known only at run time)"
                )
            }
        }
        var inputs: Set<String> = []
        for input in graph.input {
            guard inputs.insert(input.name).inserted else {
                throw ONNXError(.invalidGraph, "\(scope) declares the input '\(input.name)' twice")
            }
        }
        var produced: Set<String> = []
        for node in graph.node {
            let label = node.name.isEmpty ? "a \(node.opType) node" : "node '\(node.name)' (\(node.opType))"
            for output in node.output where !output.isEmpty {
                if produced.contains(output) || inputs.contains(output) || initializers.contains(output) {
                    throw ONNXError(
                        .invalidGraph,
                        "\(label) in \(scope) writes '\(output)', which another node, a graph input or an initializer "
                            + "already defines; ONNX graphs assign each name once (static single assignment)",
                        node: node.name
                    )
                }
                produced.insert(output)
            }
            var attributes: Set<String> = []
            for attribute in node.attribute {
                guard attributes.insert(attribute.name).inserted else {
                    throw ONNXError(
                        .invalidGraph,
                        "\(label) gives the attribute '\(attribute.name)' twice; which one applies is undefined",
                        node: node.name
                    )
                }
                try validateAttribute(attribute, node: node, label: label)
                if attribute.hasG {
                    try validateGraph(
                        attribute.g,
                        scope: "the '\(attribute.name)' subgraph of \(label)",
                        outer: outer.union(produced).union(inputs).union(initializers)
                    )
                }
                for subgraph in attribute.graphs {
                    try validateGraph(
                        subgraph,
                        scope: "a '\(attribute.name)' subgraph of \(label)",
                        outer: outer.union(produced).union(inputs).union(initializers)
                    )
                }
            }
        }
    }

    /// The attribute's declared type agrees with the value it carries and, for the attributes whose
    /// type is fixed across operators, with that type.
    static func validateAttribute(_ attribute: Onnx_AttributeProto, node: Onnx_NodeProto, label: String) throws {
        let carried: [(Onnx_AttributeProto.AttributeType, Bool)] = [
            (.float, attribute.hasF), (.int, attribute.hasI), (.string, attribute.hasS), (.tensor, attribute.hasT),
            (.graph, attribute.hasG), (.floats, !attribute.floats.isEmpty), (.ints, !attribute.ints.isEmpty),
            (.strings, !attribute.strings.isEmpty), (.tensors, !attribute.tensors.isEmpty),
            (.graphs, !attribute.graphs.isEmpty),
        ]
        let present = carried.filter(\.1).map(\.0)
        let declared = attribute.type
        if declared != .undefined, let other = present.first(where: { $0 != declared }) {
            throw ONNXError(
                .invalidGraph,
                "\(label): attribute '\(attribute.name)' is declared \(declared) but carries a \(other) value",
                node: node.name
            )
        }
        if let expected = attributeTypes[attribute.name], attribute.refAttrName.isEmpty {
            let actual = declared != .undefined ? declared : present.first
            let compatible = actual == expected || (expected == .ints && actual == nil)
            guard compatible else {
                throw ONNXError(
                    .invalidGraph,
                    "\(label): attribute '\(attribute.name)' must be of type \(expected), not "
                        + "\(actual.map { "\($0)" } ?? "empty"); re-export the model",
                    node: node.name
                )
            }
        }
        if attribute.hasT { try validateTensor(attribute.t, place: "the '\(attribute.name)' attribute of \(label)") }
        for tensor in attribute.tensors {
            try validateTensor(tensor, place: "the '\(attribute.name)' attribute of \(label)")
        }
    }

    /// A tensor carries its data in at most one inline field (external data has its own checks when it
    /// is read, and is held in raw_data afterwards).
    static func validateTensor(_ tensor: Onnx_TensorProto, place: String) throws {
        let fields: [(String, Bool)] = [
            ("raw_data", tensor.hasRawData), ("float_data", !tensor.floatData.isEmpty),
            ("int32_data", !tensor.int32Data.isEmpty), ("string_data", !tensor.stringData.isEmpty),
            ("int64_data", !tensor.int64Data.isEmpty), ("double_data", !tensor.doubleData.isEmpty),
            ("uint64_data", !tensor.uint64Data.isEmpty),
        ]
        let set = fields.filter(\.1).map(\.0)
        guard set.count <= 1 else {
            throw ONNXError(
                .invalidGraph,
                "\(place) stores its values in both \(set.joined(separator: " and ")); a tensor has one data "
                    + "field, so which values apply is undefined"
            )
        }
    }
}
