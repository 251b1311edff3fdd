/// What a model declares, for `rkdctl inspect` and the daemon's InspectModel: no protobuf types
/// leave the module.
public struct ModelSummary: Sendable, Equatable {
    /// One dimension of a declared shape.
    public enum Dimension: Sendable, Equatable {
        case size(Int)
        case symbol(String)
        case unknown
    }

    /// A graph input or output.
    public struct ValueSummary: Sendable, Equatable {
        public let name: String
        /// ONNX's name for the element type: "float", "int64", … ("undefined" when not declared).
        public let elementType: String
        /// The declared shape; empty when none is declared.
        public let shape: [Dimension]
    }

    /// How often the graph uses one operator.
    public struct OperatorUse: Sendable, Equatable {
        public let domain: String
        public let opType: String
        public let count: Int
        public let supported: Bool
    }

    /// A node rkd cannot run, and why.
    public struct UnsupportedNode: Sendable, Equatable {
        public init(nodeName: String, domain: String, opType: String, reason: String) {
            self.nodeName = nodeName
            self.domain = domain
            self.opType = opType
            self.reason = reason
        }

        public let nodeName: String
        public let domain: String
        public let opType: String
        public let reason: String
    }

    public let irVersion: Int
    /// (domain, version) of every imported opset; "" is the default ONNX domain.
    public let opsetImports: [(domain: String, version: Int)]
    public let producerName: String
    public let producerVersion: String
    /// Graph inputs that are not initializers.
    public let inputs: [ValueSummary]
    public let outputs: [ValueSummary]
    /// Sorted by domain, then operator.
    public let operators: [OperatorUse]
    /// Elements in all initializers.
    public let parameterCount: Int
    /// In graph order.
    public let unsupportedNodes: [UnsupportedNode]

    public var fullySupported: Bool { unsupportedNodes.isEmpty }

    public static func == (a: ModelSummary, b: ModelSummary) -> Bool {
        a.irVersion == b.irVersion && a.opsetImports.map(\.domain) == b.opsetImports.map(\.domain)
            && a.opsetImports.map(\.version) == b.opsetImports.map(\.version) && a.producerName == b.producerName
            && a.producerVersion == b.producerVersion && a.inputs == b.inputs && a.outputs == b.outputs
            && a.operators == b.operators && a.parameterCount == b.parameterCount
            && a.unsupportedNodes == b.unsupportedNodes
    }
}

extension ONNXModel {
    /// The model's declared interface, its operators and which nodes rkd cannot run (every one, not
    /// only the first, unlike `ImportedGraph.init`).
    public var summary: ModelSummary {
        let graph = proto.graph
        func isDefault(_ domain: String) -> Bool { domain.isEmpty || domain == "ai.onnx" }
        func value(_ info: Onnx_ValueInfoProto) -> ModelSummary.ValueSummary {
            guard case .tensorType(let tensor) = info.type.value else {
                return ModelSummary.ValueSummary(name: info.name, elementType: "non-tensor", shape: [])
            }
            let type = Onnx_TensorProto.DataType(rawValue: Int(tensor.elemType)).map(Self.elementTypeName) ?? "unknown"
            let shape = tensor.shape.dim.map { dim -> ModelSummary.Dimension in
                switch dim.value {
                case .dimValue(let size): .size(Int(size))
                case .dimParam(let symbol): .symbol(symbol)
                case nil: .unknown
                }
            }
            return ModelSummary.ValueSummary(name: info.name, elementType: type, shape: shape)
        }
        var order: [String] = []
        var counts: [String: (domain: String, op: String, count: Int)] = [:]
        var unsupported: [ModelSummary.UnsupportedNode] = []
        for (index, node) in graph.node.enumerated() {
            let key = node.domain + "\u{0}" + node.opType
            if counts[key] == nil { order.append(key) }
            counts[key, default: (node.domain, node.opType, 0)].count += 1
            let name = node.name.isEmpty ? "#\(index)" : node.name
            if !isDefault(node.domain) {
                unsupported.append(
                    .init(
                        nodeName: name,
                        domain: node.domain,
                        opType: node.opType,
                        reason: "operator domain '\(node.domain)' is not supported; only the default ONNX domain is"
                    )
                )
            } else if OperatorRegistry.operators[node.opType] == nil {
                unsupported.append(
                    .init(
                        nodeName: name,
                        domain: node.domain,
                        opType: node.opType,
                        reason: "\(node.opType) (opset \(opsetVersion)) is not supported by rkd; re-export the "
                            + "model with supported operators (docs/onnx-conformance.md lists them)"
                    )
                )
            }
        }
        let operators = order.compactMap { counts[$0] }.map {
            ModelSummary.OperatorUse(
                domain: $0.domain,
                opType: $0.op,
                count: $0.count,
                supported: isDefault($0.domain) && OperatorRegistry.operators[$0.op] != nil
            )
        }.sorted { ($0.domain, $0.opType) < ($1.domain, $1.opType) }
        let initialized = Set(graph.initializer.map(\.name))
        let parameterCount = graph.initializer.reduce(0) { total, t in
            let (count, overflow) = t.dims.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: Int(max(d, 0)))
                return (p, acc.1 || o)
            }
            return overflow ? total : total + count
        }
        return ModelSummary(
            irVersion: Int(proto.irVersion),
            opsetImports: proto.opsetImport.map { ($0.domain, Int($0.version)) },
            producerName: proto.producerName,
            producerVersion: proto.producerVersion,
            inputs: graph.input.filter { !initialized.contains($0.name) }.map(value),
            outputs: graph.output.map(value),
            operators: operators,
            parameterCount: parameterCount,
            unsupportedNodes: unsupported
        )
    }

    static func elementTypeName(_ type: Onnx_TensorProto.DataType) -> String {
        switch type {
        case .float: "float"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .double: "double"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .complex64: "complex64"
        case .complex128: "complex128"
        case .bfloat16: "bfloat16"
        default: "undefined"
        }
    }
}
