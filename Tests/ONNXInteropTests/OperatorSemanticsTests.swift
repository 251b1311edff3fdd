import Foundation
import SwiftProtobuf
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// One-node models for the operator versions libonnx-testdata (ONNX 1.12) does not cover: Pad's
/// negative pads, `axes` input (opset 18) and wrap mode (19), Split's `num_outputs` (18), MatMul on
/// 1-D operands, Cast to bool, integer graph inputs.
///
/// The expected values were worked out by hand from the operator specs and checked with
/// onnxruntime 1.32 from the project venv, building the same node with `onnx.helper.make_node`, e.g.
/// `make_node("Pad", ["x", "pads"], ["y0"], mode="wrap")` at opset 19 with pads [2, 1, 1, 1] on
/// `np.arange(1, 13, dtype=np.float32).reshape(3, 4)`, run by `onnxruntime.InferenceSession`.
@Suite("ONNX operator semantics: Pad, Split, MatMul, Cast, integer inputs")
struct OperatorSemanticsTests {
    /// x = 1…12 as (3, 4).
    static let grid = Tensor(shape: [3, 4], scalars: (1...12).map(Float.init))

    static func valueInfo(_ name: String, type: Onnx_TensorProto.DataType = .float) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = values
        return t
    }

    static func scalar(_ name: String, _ value: Float) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = [value]
        return t
    }

    static func attribute(
        _ name: String,
        int: Int64? = nil,
        ints: [Int64]? = nil,
        string: String? = nil
    )
        -> Onnx_AttributeProto
    {
        var a = Onnx_AttributeProto()
        a.name = name
        if let int {
            a.type = .int
            a.i = int
        }
        if let ints {
            a.type = .ints
            a.ints = ints
        }
        if let string {
            a.type = .string
            a.s = Data(string.utf8)
        }
        return a
    }

    /// A graph of one node whose graph inputs are `inputs` (name and element type) and whose other
    /// node inputs are `initializers`.
    static func graph(
        _ opType: String,
        inputs: [(String, Onnx_TensorProto.DataType)] = [("x", .float)],
        nodeInputs: [String],
        outputs: Int = 1,
        attributes: [Onnx_AttributeProto] = [],
        initializers: [Onnx_TensorProto] = [],
        opset: Int64
    ) throws -> ImportedGraph {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = "n"
        node.input = nodeInputs
        node.output = (0..<outputs).map { "y\($0)" }
        node.attribute = attributes
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.version = opset
        model.opsetImport = [opsetID]
        model.graph.name = "g"
        model.graph.node = [node]
        model.graph.input = inputs.map { valueInfo($0.0, type: $0.1) }
        model.graph.output = node.output.map { valueInfo($0) }
        model.graph.initializer = initializers
        return try ImportedGraph(try ONNXModel(serialized: try model.serializedBytes()))
    }

    static func run(_ graph: ImportedGraph, _ inputs: [String: Tensor]) throws -> [Tensor] {
        let outputs = try withoutGradients { try graph.run(inputs) }
        return try graph.outputNames.map { try #require(outputs[$0]) }
    }

    // MARK: Pad

    @Test func padWrapsAroundAtOpset19() throws {
        let g = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads"],
            attributes: [Self.attribute("mode", string: "wrap")],
            initializers: [Self.ints("pads", [2, 1, 1, 1])],
            opset: 19
        )
        let y = try Self.run(g, ["x": Self.grid])[0]
        #expect(y.shape == [6, 6])
        let rows: [[Float]] = [[8, 5, 6, 7, 8, 5], [12, 9, 10, 11, 12, 9], [4, 1, 2, 3, 4, 1]]
        #expect(y.scalars == (rows + rows).flatMap { $0 })
    }

    @Test func negativePadsCropBeforeConstantPadding() throws {
        // Axis 0: crop 1 in front, add 1 behind; axis 1: add 2 in front, crop 2 behind; fill 9.
        let g = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads", "value"],
            initializers: [Self.ints("pads", [-1, 2, 1, -2]), Self.scalar("value", 9)],
            opset: 13
        )
        let y = try Self.run(g, ["x": Self.grid])[0]
        #expect(y.shape == [3, 4])
        #expect(y.scalars == [9, 9, 5, 6, 9, 9, 9, 10, 9, 9, 9, 9])
    }

    @Test func padAxesInputAtOpset18CropsThenRepeatsTheEdge() throws {
        let g = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads", "", "axes"],
            attributes: [Self.attribute("mode", string: "edge")],
            initializers: [Self.ints("pads", [-1, 2]), Self.ints("axes", [-1])],
            opset: 18
        )
        let y = try Self.run(g, ["x": Self.grid])[0]
        #expect(y.shape == [3, 5])
        #expect(y.scalars == [2, 3, 4, 4, 4, 6, 7, 8, 8, 8, 10, 11, 12, 12, 12])
    }

    @Test func reflectPadsOfAttributeFormBeforeOpset11() throws {
        // Pad-2: pads and value are attributes. [1, 2, 3] padded 2 in front, 1 behind.
        let g = try Self.graph(
            "Pad",
            nodeInputs: ["x"],
            attributes: [Self.attribute("mode", string: "reflect"), Self.attribute("pads", ints: [2, 1])],
            opset: 10
        )
        let y = try Self.run(g, ["x": Tensor(shape: [3], scalars: [1, 2, 3])])[0]
        #expect(y.scalars == [3, 2, 1, 2, 3, 2])
    }

    @Test func padRefusesAnUnknownModeAndOverCropping() throws {
        let unknown = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads"],
            attributes: [Self.attribute("mode", string: "symmetric")],
            initializers: [Self.ints("pads", [1, 1])],
            opset: 13
        )
        let error = #expect(throws: ONNXError.self) {
            try Self.run(unknown, ["x": Tensor(shape: [3], scalars: [1, 2, 3])])
        }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("symmetric") == true)
        let over = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads"],
            initializers: [Self.ints("pads", [-2, -2])],
            opset: 13
        )
        let crop = #expect(throws: ONNXError.self) {
            try Self.run(over, ["x": Tensor(shape: [3], scalars: [1, 2, 3])])
        }
        #expect(crop?.code == .invalidGraph)
    }

    /// Reflect and edge padding copy elements several times: the input gradient adds up each copy's.
    @Test func gradientThroughReflectPadMatchesFiniteDifferences() throws {
        let g = try Self.graph(
            "Pad",
            nodeInputs: ["x", "pads"],
            attributes: [Self.attribute("mode", string: "reflect")],
            initializers: [Self.ints("pads", [1, 2, 2, -1])],
            opset: 13
        )
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([3, 4], low: -1, high: 1, using: &rng)
        let result = GradientCheck.check([x]) { xs in
            let y = (try? g.run(["x": xs[0]]))?["y0"] ?? Tensor(0)
            return GradientCheck.projection(y)
        }
        #expect(result.passed, "\(result)")
    }

    // MARK: Split

    @Test func splitNumOutputsLeavesASmallerLastPart() throws {
        let g = try Self.graph(
            "Split",
            nodeInputs: ["x"],
            outputs: 3,
            attributes: [Self.attribute("num_outputs", int: 3)],
            opset: 18
        )
        let parts = try Self.run(g, ["x": Tensor(shape: [7], scalars: (0..<7).map(Float.init))])
        #expect(parts.map(\.scalars) == [[0, 1, 2], [3, 4, 5], [6]])
        // ⌈5/4⌉ = 2 four times overruns 5: refused, as onnxruntime does.
        let over = try Self.graph(
            "Split",
            nodeInputs: ["x"],
            outputs: 4,
            attributes: [Self.attribute("num_outputs", int: 4)],
            opset: 18
        )
        let error = #expect(throws: ONNXError.self) {
            try Self.run(over, ["x": Tensor(shape: [5], scalars: [0, 1, 2, 3, 4])])
        }
        #expect(error?.code == .invalidGraph)
    }

    @Test func splitSizesFromAttributeBeforeOpset13AndInputFrom13() throws {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let before = try Self.graph(
            "Split",
            nodeInputs: ["x"],
            outputs: 2,
            attributes: [Self.attribute("axis", int: -1), Self.attribute("split", ints: [1, 2])],
            opset: 11
        )
        let after = try Self.graph(
            "Split",
            nodeInputs: ["x", "split"],
            outputs: 2,
            attributes: [Self.attribute("axis", int: 1)],
            initializers: [Self.ints("split", [1, 2])],
            opset: 13
        )
        for g in [before, after] {
            let parts = try Self.run(g, ["x": x])
            #expect(parts.map(\.shape) == [[2, 1], [2, 2]])
            #expect(parts.map(\.scalars) == [[1, 4], [2, 3, 5, 6]])
        }
        // Before opset 18 equal parts must divide the axis.
        let uneven = try Self.graph(
            "Split",
            nodeInputs: ["x"],
            outputs: 2,
            attributes: [Self.attribute("axis", int: 1)],
            opset: 13
        )
        #expect(throws: ONNXError.self) { try Self.run(uneven, ["x": x]) }
    }

    // MARK: MatMul

    @Test func matMulPromotesVectorsAndDropsTheAddedAxis() throws {
        let g = try Self.graph("MatMul", inputs: [("a", .float), ("b", .float)], nodeInputs: ["a", "b"], opset: 13)
        let v = Tensor(shape: [3], scalars: [1, 2, 3])
        let m = Tensor(shape: [2, 3, 2], scalars: [1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 1, -1])
        // Vector · vector: a scalar.
        let dot = try Self.run(g, ["a": v, "b": v])[0]
        #expect(dot.shape == [] && dot.scalars == [14])
        // Vector · (2, 3, 2): the row vector times each matrix, shape (2, 2).
        let left = try Self.run(g, ["a": v, "b": m])[0]
        #expect(left.shape == [2, 2] && left.scalars == [4, 5, 5, 1])
        // (2, 2, 3) · vector: each matrix times the column vector, shape (2, 2).
        let right = try Self.run(g, ["a": m.reshaped([2, 2, 3]), "b": v])[0]
        #expect(right.shape == [2, 2] && right.scalars == [1, 6, 2, 1])
    }

    // MARK: Cast and integer inputs

    @Test func castToBoolGivesZeroOrOneAndOtherTargetsAreNamed() throws {
        let toBool = try Self.graph(
            "Cast",
            nodeInputs: ["x"],
            attributes: [Self.attribute("to", int: Int64(Onnx_TensorProto.DataType.bool.rawValue))],
            opset: 13
        )
        let y = try Self.run(toBool, ["x": Tensor(shape: [4], scalars: [0, -0.5, 3, .nan])])[0]
        #expect(y.scalars == [0, 1, 1, 1])
        let toString = try Self.graph(
            "Cast",
            nodeInputs: ["x"],
            attributes: [Self.attribute("to", int: Int64(Onnx_TensorProto.DataType.string.rawValue))],
            opset: 13
        )
        let error = #expect(throws: ONNXError.self) { try Self.run(toString, ["x": Tensor(shape: [1], scalars: [1])]) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("STRING") == true)
    }

    @Test func integerGraphInputsAreBoundAsIntegersAndMustBeWhole() throws {
        // Gather with int64 indices fed at run time.
        let g = try Self.graph(
            "Gather",
            inputs: [("x", .float), ("i", .int64)],
            nodeInputs: ["x", "i"],
            opset: 13
        )
        let y = try Self.run(g, ["x": Self.grid, "i": Tensor(shape: [2], scalars: [2, -3])])[0]
        #expect(y.shape == [2, 4])
        #expect(y.scalars == [9, 10, 11, 12, 1, 2, 3, 4])
        let error = #expect(throws: ONNXError.self) {
            try Self.run(g, ["x": Self.grid, "i": Tensor(shape: [1], scalars: [0.5])])
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.description.contains("'i'") == true)
    }
}
