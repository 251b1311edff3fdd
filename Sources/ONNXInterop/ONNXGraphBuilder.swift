import TensorEngine

/// Builds a fresh ONNX graph: nodes in execution order, float32 initializers, unique names.
///
/// Value names and node names are kept unique separately (ONNX has one namespace for each); a
/// name already taken gets a suffix `_1`, `_2`, …. An initializer is added once per owning object,
/// so a parameter shared by two layers becomes one initializer read by both nodes.
struct ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var valueNames: Set<String> = []
    private var nodeNames: Set<String> = []
    private var initializerByOwner: [ObjectIdentifier: String] = [:]

    /// A builder in which `names` (the graph's input and output) are already taken.
    init(reserving names: [String]) {
        valueNames = Set(names)
    }

    /// The name of the initializer holding `owner`'s `value`, added as float32 `raw_data` under
    /// `name` (made unique) the first time `owner` is seen.
    mutating func initializer(for owner: AnyObject, name: String, value: Tensor) -> String {
        let key = ObjectIdentifier(owner)
        if let existing = initializerByOwner[key] { return existing }
        let unique = Self.unique(name, in: &valueNames)
        initializers.append(TensorEncoding.float32(name: unique, value))
        initializerByOwner[key] = unique
        return unique
    }

    /// Appends a node named `name` (made unique) and returns the name of its one output, which is
    /// the node's name unless a value already has that name.
    mutating func node(
        _ opType: String,
        name: String,
        inputs: [String],
        attributes: [Onnx_AttributeProto] = []
    ) -> String {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = Self.unique(name, in: &nodeNames)
        node.input = inputs
        node.output = [Self.unique(name, in: &valueNames)]
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    /// Renames the value `old`, produced by the last node, to `new`: the graph output gets its
    /// fixed name without an extra Identity node.
    /// - Precondition: the last node produces `old` and nothing reads it; `new` was reserved at
    ///   `init` and is not yet used by a node.
    mutating func renameLastOutput(_ old: String, to new: String) {
        precondition(nodes.last?.output == [old], "renameLastOutput: \(old) is not the last node's output")
        precondition(!nodes.contains { $0.output.contains(new) }, "renameLastOutput: \(new) is taken")
        valueNames.remove(old)
        nodes[nodes.count - 1].output = [new]
    }

    private static func unique(_ name: String, in taken: inout Set<String>) -> String {
        var candidate = name
        var suffix = 1
        while taken.contains(candidate) {
            candidate = "\(name)_\(suffix)"
            suffix += 1
        }
        taken.insert(candidate)
        return candidate
    }
}

extension Onnx_AttributeProto {
    /// An INT attribute.
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    /// An INTS attribute.
    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map { Int64($0) }
        return a
    }

    /// A FLOAT attribute.
    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }
}

extension Onnx_ValueInfoProto {
    /// A float tensor value whose first dimension is the symbol `batch` and whose other
    /// dimensions are `dims`.
    static func floatTensor(_ name: String, batch: String, dims: [Int]) -> Onnx_ValueInfoProto {
        var batchDim = Onnx_TensorShapeProto.Dimension()
        batchDim.dimParam = batch
        var shape = Onnx_TensorShapeProto()
        shape.dim =
            [batchDim]
            + dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(d)
                return dim
            }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}
