import Foundation
import Testing

@testable import ONNXInterop

/// What `inspect` must report although every operator is known: models that import but cannot run,
/// each found by a dry run at batch 1 of the declared input shape (or refused at import), with the node.
@Suite("Dry runs")
struct DryRunTests {
    typealias M = TestModels

    /// The failure a model meets at import or in a dry run: (node, reason), nil when it runs.
    static func problem(_ proto: Onnx_ModelProto) throws -> (node: String, reason: String)? {
        do {
            let graph = try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
            return graph.dryRun().map { ($0.nodeName, $0.reason) }
        } catch let error as ONNXError {
            return (error.node ?? "", error.description)
        }
    }

    static func single(
        _ op: String,
        inputs: [String],
        shape: [Int64],
        initializers: [Onnx_TensorProto],
        attributes: [Onnx_AttributeProto] = [],
        outputShape: [Int64] = [1]
    ) -> Onnx_ModelProto {
        M.model(
            M.graph(
                nodes: [M.node(op, inputs, ["y"], name: "suspect", attributes: attributes)],
                inputs: [M.valueInfo("x", shape)],
                outputs: [M.valueInfo("y", outputShape)],
                initializers: initializers
            )
        )
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto { M.intsAttribute(name, values) }

    @Test func aSoundModelRuns() throws {
        let w = M.floatTensor("w", dims: [2, 3, 3, 3], values: Array(repeating: 0.1, count: 54))
        #expect(
            try Self.problem(Self.single("Conv", inputs: ["x", "w"], shape: [1, 3, 5, 5], initializers: [w])) == nil
        )
    }

    @Test func convolutionWeightThatDoesNotFitTheChannels() throws {
        let w = M.floatTensor("w", dims: [2, 4, 3, 3], values: Array(repeating: 0.1, count: 72))
        let found = try #require(
            try Self.problem(Self.single("Conv", inputs: ["x", "w"], shape: [1, 3, 5, 5], initializers: [w]))
        )
        #expect(found.node == "suspect", "\(found)")
    }

    @Test func zeroStridesAndNegativePads() throws {
        let w = M.floatTensor("w", dims: [2, 3, 3, 3], values: Array(repeating: 0.1, count: 54))
        for attribute in [Self.ints("strides", [0, 1]), Self.ints("pads", [-1, 0, 0, 0])] {
            let found = try #require(
                try Self.problem(
                    Self.single(
                        "Conv",
                        inputs: ["x", "w"],
                        shape: [1, 3, 5, 5],
                        initializers: [w],
                        attributes: [attribute]
                    )
                )
            )
            #expect(found.node == "suspect", "\(found)")
        }
    }

    @Test func gemmWithMismatchedInnerExtents() throws {
        let b = M.floatTensor("b", dims: [5, 3], values: Array(repeating: 1, count: 15))
        let found = try #require(
            try Self.problem(Self.single("Gemm", inputs: ["x", "b"], shape: [1, 4], initializers: [b]))
        )
        #expect(found.node == "suspect", "\(found)")
    }

    @Test func reshapeToAnotherElementCount() throws {
        let shape = M.int64Tensor("shape", [4])
        let found = try #require(
            try Self.problem(Self.single("Reshape", inputs: ["x", "shape"], shape: [1, 6], initializers: [shape]))
        )
        #expect(found.node == "suspect", "\(found)")
    }

    @Test func gatherIndexOutOfRange() throws {
        let axis = M.intAttribute("axis", 1)
        let indices = M.int64Tensor("i", [5])
        let found = try #require(
            try Self.problem(
                Self.single("Gather", inputs: ["x", "i"], shape: [1, 3], initializers: [indices], attributes: [axis])
            )
        )
        #expect(found.node == "suspect", "\(found)")
    }

    @Test func poolingWindowLargerThanItsInput() throws {
        let found = try #require(
            try Self.problem(
                Self.single(
                    "MaxPool",
                    inputs: ["x"],
                    shape: [1, 1, 3, 3],
                    initializers: [],
                    attributes: [Self.ints("kernel_shape", [7, 7])]
                )
            )
        )
        #expect(found.node == "suspect", "\(found)")
    }
}
