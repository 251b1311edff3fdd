/// The supported operators, by ONNX op type. Each maps a node's inputs to its outputs.
enum OperatorRegistry {
    typealias Implementation = @Sendable (NodeContext) throws -> [Value]

    static let operators: [String: Implementation] = {
        var table: [String: Implementation] = [:]
        for (name, f) in ElementwiseOperators.all { table[name] = f }
        for (name, f) in NetworkOperators.all { table[name] = f }
        for (name, f) in ShapeOperators.all { table[name] = f }
        for (name, f) in MoreOperators.all { table[name] = f }
        for (name, f) in BatchNormOperator.all { table[name] = f }
        for (name, f) in PadOperator.all { table[name] = f }
        for (name, f) in TransformerOperators.all { table[name] = f }
        for (name, f) in LogicOperators.all { table[name] = f }
        for (name, f) in EinsumOperator.all { table[name] = f }
        for (name, f) in ResizeOperator.all { table[name] = f }
        return table
    }()
}
