/// The structural limits, checked right after decoding and before anything else walks the model:
/// subgraph nesting, node counts, declared tensor sizes, and the longest chain of nodes.
extension ONNXModel {
    /// Walks every graph and function iteratively (no recursion, so a deeply nested file cannot
    /// exhaust the stack here) and throws `.limitExceeded` at the first limit a model breaks,
    /// `.invalidGraph` for a negative dimension.
    static func checkStructure(_ proto: Onnx_ModelProto, limits: ImportLimits) throws {
        var totalNodes = 0
        var declaredElements = 0

        func countNodes(_ count: Int, in place: String) throws {
            totalNodes += count
            guard totalNodes <= limits.maximumNodes else {
                throw ONNXError(
                    .limitExceeded,
                    "the model has more than \(limits.maximumNodes) nodes, the limit (counting every graph; "
                        + "\(place) has \(count)); raise ImportLimits.maximumNodes if it is genuine"
                )
            }
        }
        func declare(_ tensor: Onnx_TensorProto) throws {
            let count = try TensorDecoding.elementCount(tensor.dims, limits: limits, name: tensor.name)
            declaredElements += count
            guard declaredElements <= limits.maximumInitializerElements else {
                throw ONNXError(
                    .limitExceeded,
                    "the initializers and constants declare more than \(limits.maximumInitializerElements) "
                        + "elements together (the limit, reached at tensor '\(tensor.name)'); raise "
                        + "ImportLimits.maximumInitializerElements if it is genuine"
                )
            }
        }

        // (nodes, nesting depth, where they are) for the main graph, each subgraph and each function.
        var pending: [(nodes: [Onnx_NodeProto], depth: Int, place: String)] = [(proto.graph.node, 0, "the main graph")]
        for initializer in proto.graph.initializer { try declare(initializer) }
        for function in proto.functions {
            pending.append((function.node, 0, "function '\(function.name)'"))
        }
        while let (nodes, depth, place) = pending.popLast() {
            try countNodes(nodes.count, in: place)
            for node in nodes {
                for attribute in node.attribute {
                    if attribute.hasT { try declare(attribute.t) }
                    for tensor in attribute.tensors { try declare(tensor) }
                    let subgraphs = (attribute.hasG ? [attribute.g] : []) + attribute.graphs
                    guard !subgraphs.isEmpty else { continue }
                    guard depth < limits.maximumGraphDepth else {
                        throw ONNXError(
                            .limitExceeded,
                            "attribute '\(attribute.name)' of \(node.opType) node '\(node.name)' in \(place) nests "
                                + "subgraphs more than \(limits.maximumGraphDepth) deep (the limit); raise "
                                + "ImportLimits.maximumGraphDepth if it is genuine"
                        )
                    }
                    for subgraph in subgraphs {
                        for initializer in subgraph.initializer { try declare(initializer) }
                        pending.append(
                            (subgraph.node, depth + 1, "subgraph '\(subgraph.name)' (depth \(depth + 1))")
                        )
                    }
                }
            }
        }
        try checkChainLength(proto.graph, limits: limits)
    }

    /// Throws when the longest path of nodes in `graph` is over `limits.maximumChainLength`. Linear
    /// in nodes plus edges (Kahn's algorithm); nodes on a cycle are left out, for the importer to
    /// report the cycle.
    static func checkChainLength(_ graph: Onnx_GraphProto, limits: ImportLimits) throws {
        let nodes = graph.node
        var producers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.output where !output.isEmpty { producers[output, default: []].append(index) }
        }
        var consumers = [[Int]](repeating: [], count: nodes.count)
        var waitingFor = [Int](repeating: 0, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.input where !input.isEmpty {
                for producer in producers[input] ?? [] {
                    consumers[producer].append(index)
                    waitingFor[index] += 1
                }
            }
        }
        var length = [Int](repeating: 1, count: nodes.count)
        var ready = nodes.indices.filter { waitingFor[$0] == 0 }
        while let index = ready.popLast() {
            guard length[index] <= limits.maximumChainLength else {
                throw ONNXError(
                    .limitExceeded,
                    "a path through the graph is over \(limits.maximumChainLength) nodes long (the limit; "
                        + "reached at \(nodes[index].opType) node '\(nodes[index].name)'); raise "
                        + "ImportLimits.maximumChainLength if it is genuine"
                )
            }
            for consumer in consumers[index] {
                length[consumer] = max(length[consumer], length[index] + 1)
                waitingFor[consumer] -= 1
                if waitingFor[consumer] == 0 { ready.append(consumer) }
            }
        }
    }
}
