import Foundation
import SwiftProtobuf
import TensorEngine
import Testing

@testable import ONNXInterop

/// Hand-made hostile models: each must be refused with an `ONNXError` of the right code whose
/// message says what is wrong, before anything large is allocated.
@Suite("Hostile ONNX input")
struct HostileInputTests {
    typealias M = TestModels

    /// An identity-like model around one initializer `w` read by an Add.
    static func modelWithInitializer(_ w: Onnx_TensorProto) -> Onnx_ModelProto {
        M.model(
            M.graph(
                nodes: [M.node("Add", ["x", w.name], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])],
                initializers: [w]
            )
        )
    }

    static func expectError(
        _ proto: Onnx_ModelProto,
        _ code: ONNXError.Code,
        containing fragments: [String],
        limits: ImportLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try expectError(M.bytes(proto), code, containing: fragments, limits: limits, sourceLocation: sourceLocation)
    }

    static func expectError(
        _ data: Data,
        _ code: ONNXError.Code,
        containing fragments: [String],
        limits: ImportLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let error = try #require(M.importError(data, limits: limits), sourceLocation: sourceLocation)
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Declared sizes

    @Test func hugeDeclaredDimsWithoutDataAreRefusedAtParse() throws {
        let w = M.floatTensor("w", dims: [1 << 40], values: [])
        try Self.expectError(Self.modelWithInitializer(w), .limitExceeded, containing: ["'w'", "1099511627776"])
    }

    @Test func dimsWhoseProductOverflowsAreRefused() throws {
        let w = M.floatTensor("w", dims: [1 << 32, 1 << 32, 16], values: [])
        try Self.expectError(Self.modelWithInitializer(w), .limitExceeded, containing: ["'w'", "limit"])
        // An empty tensor whose other extents are absurd would still overflow strides: refused too.
        let empty = M.floatTensor("e", dims: [0, 1 << 62, 1 << 62], values: [])
        try Self.expectError(Self.modelWithInitializer(empty), .limitExceeded, containing: ["'e'"])
    }

    @Test func negativeDimsAreRefused() throws {
        let w = M.floatTensor("w", dims: [2, -3], values: [1, 2, 3, 4, 5, 6])
        try Self.expectError(Self.modelWithInitializer(w), .invalidGraph, containing: ["'w'", "negative dimension"])
    }

    @Test(arguments: [3, 17])
    func rawDataOfTheWrongLengthIsRefused(bytes: Int) throws {
        let w = M.rawFloatTensor("w", dims: [2, 2], bytes: bytes)
        try Self.expectError(
            Self.modelWithInitializer(w),
            .invalidGraph,
            containing: ["'w'", "needs 16 bytes", "has \(bytes)"]
        )
    }

    @Test func typedDataOfTheWrongCountIsRefused() throws {
        let w = M.floatTensor("w", dims: [3], values: [1, 2])
        try Self.expectError(
            Self.modelWithInitializer(w),
            .invalidGraph,
            containing: ["'w'", "2 values", "expected 3"]
        )
    }

    @Test func hugeConstantValueIsRefusedAtParse() throws {
        let huge = M.floatTensor("c", dims: [1 << 20, 1 << 20], values: [])
        let proto = M.model(
            M.graph(
                nodes: [M.node("Constant", [], ["y"], attributes: [M.tensorAttribute("value", huge)])],
                inputs: [],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expectError(proto, .limitExceeded, containing: ["'c'", "limit"])
    }

    @Test func initializersOverTheTotalAreRefused() throws {
        var limits = ImportLimits()
        limits.maximumInitializerElements = 1000
        let parts = (0..<3).map { M.floatTensor("w\($0)", dims: [400], values: []) }
        let proto = M.model(
            M.graph(
                nodes: [M.node("Sum", ["x"] + parts.map(\.name), ["y"])],
                inputs: [M.valueInfo("x", [400])],
                outputs: [M.valueInfo("y", [400])],
                initializers: parts
            )
        )
        try Self.expectError(proto, .limitExceeded, containing: ["1000", "'w2'"], limits: limits)
    }

    // MARK: Graph structure

    @Test func twoNodeCycleIsRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["b"], ["a"], name: "first"), M.node("Relu", ["a"], ["b"], name: "second")],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("a", [1])]
            )
        )
        try Self.expectError(proto, .invalidGraph, containing: ["cycle"])
    }

    @Test func selfLoopIsRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Add", ["x", "y"], ["y"], name: "loop")],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expectError(proto, .invalidGraph, containing: ["cycle", "loop"])
    }

    @Test func inputProducedByNothingIsRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["nowhere"], ["y"], name: "reader")],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expectError(proto, .invalidGraph, containing: ["nowhere", "produced by no node", "reader"])
    }

    /// Regression: such a model killed rkdd through Predict (an index out of range on the outputs).
    @Test func graphWithNoOutputsIsRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: []
            )
        )
        try Self.expectError(proto, .invalidGraph, containing: ["no outputs", "re-export"])
    }

    @Test func graphOutputNeverProducedIsRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1]), M.valueInfo("ghost", [1])]
            )
        )
        try Self.expectError(proto, .invalidGraph, containing: ["'ghost'", "produced by no node"])
    }

    @Test func missingFeedAtRunTimeIsInvalidInput() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Add", ["x", "z"], ["y"])],
                inputs: [M.valueInfo("x", [1]), M.valueInfo("z", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        let graph = try ImportedGraph(try ONNXModel(serialized: try M.bytes(proto)))
        let error = #expect(throws: ONNXError.self) { try graph.run(["x": Tensor(shape: [1], scalars: [1])]) }
        #expect(error?.code == .invalidInput)
        #expect(error?.description.contains("'z'") == true, "\(String(describing: error))")
    }

    @Test func convWeightOfTheWrongSizeIsRefusedAtRun() throws {
        // The input has 2 channels; the weight expects 3.
        let w = M.floatTensor("w", dims: [4, 3, 3, 3], values: [Float](repeating: 0.1, count: 108))
        let proto = M.model(
            M.graph(
                nodes: [M.node("Conv", ["x", "w"], ["y"], name: "conv")],
                inputs: [M.valueInfo("x", [1, 2, 8, 8])],
                outputs: [M.valueInfo("y", [1, 4, 6, 6])],
                initializers: [w]
            )
        )
        let graph = try ImportedGraph(try ONNXModel(serialized: try M.bytes(proto)))
        let error = #expect(throws: ONNXError.self) {
            try withoutGradients { try graph.run(["x": Tensor(zeros: [1, 2, 8, 8])]) }
        }
        #expect(error?.code == .invalidGraph)
        #expect(error?.node == "conv")
        #expect(error?.description.contains("[4, 3, 3, 3]") == true, "\(String(describing: error))")

        // A bias of the wrong length for a weight that fits.
        let fitting = M.floatTensor("w", dims: [4, 2, 3, 3], values: [Float](repeating: 0.1, count: 72))
        let bias = M.floatTensor("b", dims: [5], values: [0, 0, 0, 0, 0])
        var withBias = proto
        withBias.graph.initializer = [fitting, bias]
        withBias.graph.node[0].input = ["x", "w", "b"]
        let biasGraph = try ImportedGraph(try ONNXModel(serialized: try M.bytes(withBias)))
        let biasError = #expect(throws: ONNXError.self) {
            try withoutGradients { try biasGraph.run(["x": Tensor(zeros: [1, 2, 8, 8])]) }
        }
        #expect(biasError?.code == .invalidGraph)
        #expect(biasError?.description.contains("bias") == true, "\(String(describing: biasError))")
    }

    // MARK: Recursion and size bombs

    /// `depth` If nodes, each holding the next in its then_branch (only one branch: with both, the
    /// file would double in size with every level).
    static func nestedIfs(_ depth: Int) -> Onnx_ModelProto {
        var inner = M.graph(nodes: [M.node("Identity", ["x"], ["y"])], inputs: [], outputs: [M.valueInfo("y", [1])])
        for level in 0..<depth {
            let node = M.node(
                "If",
                ["cond"],
                ["y"],
                name: "if\(level)",
                attributes: [M.graphAttribute("then_branch", inner)]
            )
            inner = M.graph(nodes: [node], inputs: [], outputs: [M.valueInfo("y", [1])], name: "level\(level)")
        }
        return M.model(
            M.graph(
                nodes: inner.node,
                inputs: [M.valueInfo("cond", []), M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
    }

    @Test func subgraphsNestedOverTheLimitAreRefused() throws {
        // Four Ifs nest subgraphs 4 deep (the default limit): that parses, and the importer then
        // refuses If as unsupported. Five are refused while parsing.
        let atLimit = try #require(try M.importError(Self.nestedIfs(4)))
        #expect(atLimit.code == .unsupported, "\(atLimit)")
        try Self.expectError(Self.nestedIfs(5), .limitExceeded, containing: ["then_branch", "more than 4 deep"])
    }

    @Test func protobufNestedBeyondTheDepthLimitIsMalformed() throws {
        // 25 Ifs are 75 messages deep: swift-protobuf stops at 64 before the graph walk begins.
        try Self.expectError(Self.nestedIfs(25), .malformed, containing: ["more than 64 deep"])
    }

    /// A million nested messages (graph → node → attribute → graph …) as raw bytes: the decoder
    /// must stop at its depth limit instead of recursing until the stack is gone.
    @Test func millionLevelNestingBombIsMalformed() throws {
        let fields: [UInt8] = [1, 5, 6]  // GraphProto.node, NodeProto.attribute, AttributeProto.g
        let depth = 1_000_000
        // Lengths from the inside out: each level is tag + length varint + the level inside.
        var lengths = [Int](repeating: 0, count: depth + 1)
        for level in stride(from: depth - 1, through: 0, by: -1) {
            let inner = lengths[level + 1]
            lengths[level] = 1 + Self.varintSize(UInt64(inner)) + inner
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(lengths[0] + 8)
        bytes.append(7 << 3 | 2)  // ModelProto.graph
        Self.appendVarint(UInt64(lengths[0]), to: &bytes)
        for level in 0..<depth {
            bytes.append(fields[level % 3] << 3 | 2)
            Self.appendVarint(UInt64(lengths[level + 1]), to: &bytes)
        }
        try Self.expectError(Data(bytes), .malformed, containing: ["more than 64 deep"])
    }

    static func varintSize(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @Test func moreNodesThanTheLimitAreRefused() throws {
        let count = ImportLimits.default.maximumNodes + 1
        let nodes = (0..<count).map { M.node("Relu", ["x"], ["y\($0)"], name: "") }
        let proto = M.model(
            M.graph(nodes: nodes, inputs: [M.valueInfo("x", [1])], outputs: [M.valueInfo("y0", [1])])
        )
        try Self.expectError(proto, .limitExceeded, containing: ["more than 100000 nodes"])
    }

    /// The raw-byte scan finds exactly the nodes the decoder finds, subgraphs and functions
    /// included, in every model of ONNX's test data.
    @Test func wireScanCountsTheNodesTheDecoderFinds() throws {
        var checked = 0
        for directory in ["node", "pytorch-converted", "pytorch-operator", "simple"] {
            let folder = M.testData.appendingPathComponent(directory)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
                let path = "\(directory)/\(name)"
                guard let data = try? M.testModel(path) else { continue }
                let proto = try Onnx_ModelProto(serializedBytes: data)
                var decoded = proto.functions.reduce(0) { $0 + $1.node.count }
                var graphs = [proto.graph]
                while let graph = graphs.popLast() {
                    decoded += graph.node.count
                    for node in graph.node {
                        for attribute in node.attribute {
                            graphs += (attribute.hasG ? [attribute.g] : []) + attribute.graphs
                        }
                    }
                }
                let scanned = data.withUnsafeBytes { ModelWireScan.count($0) }
                #expect(scanned.nodes == decoded, "\(path)")
                #expect(scanned.messages > scanned.nodes, "\(path)")
                checked += 1
            }
        }
        #expect(checked > 1000)
    }

    /// 4 MB of empty attributes would decode into about 1 GiB: refused on the raw bytes.
    @Test func attributeBombIsRefusedBeforeDecoding() throws {
        let count = ImportLimits.default.maximumMessages + 1
        var node: [UInt8] = []
        node.reserveCapacity(2 * count)
        for _ in 0..<count { node += [5 << 3 | 2, 0] }  // NodeProto.attribute, empty
        var graph: [UInt8] = [1 << 3 | 2]  // GraphProto.node
        Self.appendVarint(UInt64(node.count), to: &graph)
        graph += node
        var model: [UInt8] = [7 << 3 | 2]  // ModelProto.graph
        Self.appendVarint(UInt64(graph.count), to: &model)
        model += graph
        try Self.expectError(Data(model), .limitExceeded, containing: ["more than 2000000 protobuf messages"])
    }

    @Test func nodesInSubgraphsCountTowardsTheLimit() throws {
        var limits = ImportLimits()
        limits.maximumNodes = 10
        let body = M.graph(
            nodes: (0..<10).map { M.node("Relu", ["x"], ["b\($0)"]) },
            inputs: [],
            outputs: [M.valueInfo("b0", [1])]
        )
        let proto = M.model(
            M.graph(
                nodes: [
                    M.node(
                        "If",
                        ["cond"],
                        ["y"],
                        attributes: [M.graphAttribute("then_branch", body), M.graphAttribute("else_branch", body)]
                    )
                ],
                inputs: [M.valueInfo("cond", []), M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expectError(proto, .limitExceeded, containing: ["more than 10 nodes"], limits: limits)
    }

    @Test func chainLongerThanTheLimitIsRefused() throws {
        var limits = ImportLimits()
        limits.maximumChainLength = 500
        func chain(_ length: Int) -> Onnx_ModelProto {
            // Stored in reverse order, as a hostile file would, to exercise the ordering too.
            let nodes = (0..<length).reversed().map { i in
                M.node("Neg", [i == 0 ? "x" : "v\(i - 1)"], ["v\(i)"], name: "n\(i)")
            }
            return M.model(
                M.graph(nodes: nodes, inputs: [M.valueInfo("x", [1])], outputs: [M.valueInfo("v\(length - 1)", [1])])
            )
        }
        #expect(try M.importError(chain(500), limits: limits) == nil)
        try Self.expectError(chain(501), .limitExceeded, containing: ["500 nodes long", "n500"], limits: limits)
    }

    /// A chain at the default length limit runs with gradient recording and its tape is released
    /// on a 512 KiB stack (the tape's release is iterative; when it recursed once per node, a
    /// 3 000-node chain overflowed such a stack).
    @Test func chainAtTheLimitIsReleasedOnASmallStack() throws {
        let length = ImportLimits.default.maximumChainLength
        let nodes = (0..<length).map { i in M.node("Neg", [i == 0 ? "x" : "v\(i - 1)"], ["v\(i)"], name: "n\(i)") }
        let proto = M.model(
            M.graph(nodes: nodes, inputs: [M.valueInfo("x", [1])], outputs: [M.valueInfo("v\(length - 1)", [1])])
        )
        let bytes = try M.bytes(proto)
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<[Float], any Error> = .success([])
        let thread = Thread {
            outcome = Result {
                let graph = try ImportedGraph(try ONNXModel(serialized: bytes))
                let x = Tensor(shape: [1], scalars: [3]).tracked()
                let y = try graph.run(["x": x])["v\(length - 1)"]
                #expect(y?.isTracked == true, "the run recorded no tape")
                return y?.scalars ?? []
            }
            finished.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        finished.wait()
        // An even number of negations.
        #expect(try outcome.get() == [3])
    }

    /// The importer's former ordering, repeated sweeps over the nodes not yet placed (quadratic in
    /// the node count), kept as the naive oracle for `ONNXModel.topologicalOrder`.
    static func naiveTopologicalOrder(_ graph: Onnx_GraphProto, available: Set<String>) throws -> [Onnx_NodeProto] {
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

    /// The linear-time ordering keeps an exported (already sorted) graph's order exactly, as the
    /// importer's sweeps do.
    @Test func linearOrderKeepsExportedOrder() throws {
        for path in FuzzTests.corpus {
            let model = try ONNXModel(serialized: try M.testModel(path))
            let graph = model.proto.graph
            let available = Set(graph.initializer.map(\.name) + model.inputNames)
            let linear = try ONNXModel.topologicalOrder(graph, available: available)
            let sweeps = try Self.naiveTopologicalOrder(graph, available: available)
            #expect(linear == sweeps, "\(path)")
            #expect(linear == graph.node, "\(path)")
        }
    }

    /// A 100 000-node chain stored backwards is sorted (the naive sweeps would take over an hour).
    @Test func linearOrderSortsABackwardChain() throws {
        let length = 100_000
        let nodes = (0..<length).reversed().map { i in M.node("Neg", [i == 0 ? "x" : "v\(i - 1)"], ["v\(i)"]) }
        let graph = M.graph(nodes: nodes, inputs: [M.valueInfo("x", [1])], outputs: [])
        let order = try ONNXModel.topologicalOrder(graph, available: ["x"])
        #expect(order.map(\.output) == (0..<length).map { ["v\($0)"] })
    }

    /// The linear-time ordering refuses cycles and dangling inputs with the importer's messages.
    @Test func linearOrderRefusesWhatTheSweepsRefuse() throws {
        let graphs = [
            M.graph(
                nodes: [M.node("Relu", ["b"], ["a"], name: "first"), M.node("Relu", ["a"], ["b"], name: "second")],
                inputs: [M.valueInfo("x", [1])],
                outputs: []
            ),
            M.graph(nodes: [M.node("Add", ["x", "y"], ["y"], name: "loop")], inputs: [], outputs: []),
            M.graph(
                nodes: [M.node("Relu", ["x"], ["a"]), M.node("Add", ["a", "nowhere"], ["b"], name: "reader")],
                inputs: [],
                outputs: []
            ),
        ]
        for graph in graphs {
            let linear = #expect(throws: ONNXError.self) { try ONNXModel.topologicalOrder(graph, available: ["x"]) }
            let sweeps = #expect(throws: ONNXError.self) { try Self.naiveTopologicalOrder(graph, available: ["x"]) }
            #expect(linear?.description == sweeps?.description)
            #expect(linear?.code == .invalidGraph)
        }
    }

    // MARK: Not a model at all

    @Test func emptyFileIsMalformed() throws {
        try Self.expectError(Data(), .malformed, containing: ["empty"])
    }

    @Test func fileOfZerosIsMalformed() throws {
        try Self.expectError(Data(repeating: 0, count: 4096), .malformed, containing: ["not an ONNX model"])
    }

    @Test func tensorProtoInsteadOfModelIsRefused() throws {
        let tensor = try Data(
            contentsOf: M.testData.appendingPathComponent("pytorch-converted/test_Conv2d/test_data_set_0/input_0.pb")
        )
        let error = try #require(M.importError(tensor))
        #expect([.malformed, .invalidGraph].contains(error.code), "\(error)")
        #expect(error.message.contains("not an ONNX model") || error.message.contains("not an .onnx file"), "\(error)")
    }
}

/// Builds small ModelProtos by hand for the hostile-input and checker tests.
enum TestModels {
    static let testData = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

    static func valueInfo(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = d
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    static func node(
        _ opType: String,
        _ inputs: [String],
        _ outputs: [String],
        name: String = "",
        attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.input = inputs
        node.output = outputs
        node.name = name.isEmpty ? (outputs.first ?? opType) : name
        node.attribute = attributes
        return node
    }

    static func floatTensor(_ name: String, dims: [Int64], values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = values
        return t
    }

    static func rawFloatTensor(_ name: String, dims: [Int64], bytes: Int) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.rawData = Data(repeating: 0, count: bytes)
        return t
    }

    static func int64Tensor(_ name: String, _ values: [Int64], dims: [Int64]? = nil) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims ?? [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = values
        return t
    }

    static func graphAttribute(_ name: String, _ graph: Onnx_GraphProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .graph
        a.g = graph
        return a
    }

    static func tensorAttribute(_ name: String, _ tensor: Onnx_TensorProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .tensor
        a.t = tensor
        return a
    }

    static func intAttribute(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = value
        return a
    }

    static func stringAttribute(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func intsAttribute(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values
        return a
    }

    static func graph(
        nodes: [Onnx_NodeProto],
        inputs: [Onnx_ValueInfoProto],
        outputs: [Onnx_ValueInfoProto],
        initializers: [Onnx_TensorProto] = [],
        name: String = "g"
    ) -> Onnx_GraphProto {
        var g = Onnx_GraphProto()
        g.name = name
        g.node = nodes
        g.input = inputs
        g.output = outputs
        g.initializer = initializers
        return g
    }

    static func model(_ graph: Onnx_GraphProto, opset: Int64 = 13, irVersion: Int64 = 7) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        m.producerName = "rkd-tests"
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        m.opsetImport = [opsetID]
        m.graph = graph
        return m
    }

    static func bytes(_ proto: some SwiftProtobuf.Message) throws -> Data { try proto.serializedBytes() }

    /// The model's bytes parsed and imported; the error thrown, if any.
    static func importError(_ proto: Onnx_ModelProto, limits: ImportLimits = .default) throws -> ONNXError? {
        try importError(bytes(proto), limits: limits)
    }

    static func importError(_ data: Data, limits: ImportLimits = .default) -> ONNXError? {
        do {
            _ = try ImportedGraph(try ONNXModel(serialized: data, limits: limits))
            return nil
        } catch let error as ONNXError {
            return error
        } catch {
            Issue.record("expected ONNXError, got \(type(of: error)): \(error)")
            return nil
        }
    }

    static func testModel(_ path: String) throws -> Data {
        try Data(contentsOf: testData.appendingPathComponent(path).appendingPathComponent("model.onnx"))
    }
}
