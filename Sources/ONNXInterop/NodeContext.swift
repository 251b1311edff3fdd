import TensorEngine

/// What an operator implementation sees of one node: its inputs, attributes and opset.
struct NodeContext: Sendable {
    let node: Onnx_NodeProto
    let inputs: [Value?]
    let opset: Int
    let limits: ImportLimits
    /// The run this node belongs to (training mode, statistics updates).
    let run: RunState

    var name: String { node.name.isEmpty ? "\(node.opType)#\(node.output.first ?? "?")" : node.name }

    func error(_ code: ONNXError.Code, _ message: String) -> ONNXError {
        ONNXError(code, "\(node.opType) (opset \(opset)): \(message)", node: name)
    }

    /// Input `i`, which must be present.
    func input(_ i: Int) throws -> Value {
        guard i < inputs.count, let v = inputs[i] else { throw error(.invalidGraph, "input \(i) is missing") }
        return v
    }

    /// Input `i` as floats, which must be present.
    func tensor(_ i: Int) throws -> Tensor { try input(i).asTensor }

    /// Input `i` if the node gives it (empty names mean absent).
    func optionalInput(_ i: Int) -> Value? { i < inputs.count ? inputs[i] : nil }

    func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }

    func int(_ name: String, default value: Int) -> Int { attribute(name).map { Int($0.i) } ?? value }
    func float(_ name: String, default value: Float) -> Float { attribute(name).map { $0.f } ?? value }
    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int($0) } } }
    func string(_ name: String, default value: String) -> String {
        attribute(name).map { String(decoding: $0.s, as: UTF8.self) } ?? value
    }

    /// Integers from input `i` (opset ≥ the version where the attribute became an input) or from
    /// attribute `name` before it.
    func intsFromInputOrAttribute(_ i: Int, _ name: String) throws -> [Int]? {
        if let v = optionalInput(i) { return try v.asInts(name, node: self.name) }
        return ints(name)
    }

    /// Fails unless every attribute is one the implementation reads.
    func onlyAttributes(_ known: Set<String>) throws {
        for a in node.attribute where !known.contains(a.name) {
            throw error(.unsupported, "attribute '\(a.name)' is not supported; re-export the model without it")
        }
    }
}
