import DaemonAPI

/// `rkdctl inspect --json`: the upload's result and InspectModel's answer.
struct ModelJSON: Encodable, Sendable {
    /// A declared dimension: a number, a symbol such as "N", or null when the model leaves it unknown.
    enum Dimension: Encodable, Sendable {
        case size(Int64)
        case symbol(String)
        case unknown

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .size(let size): try container.encode(size)
            case .symbol(let symbol): try container.encode(symbol)
            case .unknown: try container.encodeNil()
            }
        }
    }

    struct Value: Encodable, Sendable {
        var name: String
        var elementType: String
        /// Empty when the model declares no shape.
        var shape: [Dimension]
    }

    struct Opset: Encodable, Sendable {
        /// "" for the default ONNX domain.
        var domain: String
        var version: Int64
    }

    struct Operator: Encodable, Sendable {
        var domain: String
        var opType: String
        var count: UInt32
        var supported: Bool
    }

    struct Checker: Encodable, Sendable {
        var valid: Bool
        var message: String
    }

    struct UnsupportedNode: Encodable, Sendable {
        var nodeName: String
        var domain: String
        var opType: String
        var reason: String
    }

    var file: String
    var digest: String
    var sizeBytes: UInt64
    var alreadyStored: Bool
    var irVersion: Int64
    var opsetImports: [Opset]
    var producerName: String
    var producerVersion: String
    var inputs: [Value]
    var outputs: [Value]
    var operators: [Operator]
    var parameterCount: UInt64
    var checker: Checker
    var fullySupported: Bool
    var unsupportedNodes: [UnsupportedNode]
    /// logits, probabilities or unknown.
    var outputKind: String

    init(file: String, upload: Rkd_V1_UploadModelResponse, info: Rkd_V1_ModelInfo) {
        func value(_ info: Rkd_V1_ValueInfo) -> Value {
            Value(
                name: info.name,
                elementType: info.elementType,
                shape: info.shape.map {
                    switch $0.value {
                    case .size(let size): .size(size)
                    case .symbol(let symbol): .symbol(symbol)
                    case nil: .unknown
                    }
                }
            )
        }
        self.file = file
        digest = info.digest
        sizeBytes = info.sizeBytes
        alreadyStored = upload.alreadyStored
        irVersion = info.irVersion
        opsetImports = info.opsetImports.map { Opset(domain: $0.domain, version: $0.version) }
        producerName = info.producerName
        producerVersion = info.producerVersion
        inputs = info.inputs.map(value)
        outputs = info.outputs.map(value)
        operators = info.operators.map {
            Operator(domain: $0.domain, opType: $0.opType, count: $0.count, supported: $0.supported)
        }
        parameterCount = info.parameterCount
        checker = Checker(valid: info.checker.valid, message: info.checker.message)
        fullySupported = info.fullySupported
        unsupportedNodes = info.unsupportedNodes.map {
            UnsupportedNode(nodeName: $0.nodeName, domain: $0.domain, opType: $0.opType, reason: $0.reason)
        }
        outputKind = info.outputKind.name
    }
}
