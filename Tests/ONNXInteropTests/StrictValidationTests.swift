import Foundation
import SwiftProtobuf
import Testing

@testable import ONNXInterop

/// Models whose semantics ONNX leaves undefined, or that come from a future rkd does not implement, are
/// refused with the reason (as onnxruntime refuses them), never guessed at.
@Suite("Strict validation")
struct StrictValidationTests {
    typealias M = TestModels

    /// Relu(x) → y: a sound model, changed by each case.
    static func relu(_ change: (inout Onnx_ModelProto) -> Void = { _ in }) -> Onnx_ModelProto {
        var model = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        change(&model)
        return model
    }

    static func expect(
        _ proto: Onnx_ModelProto,
        _ code: ONNXError.Code,
        _ fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try HostileInputTests.expectError(proto, code, containing: fragments, sourceLocation: sourceLocation)
    }

    @Test func theSoundModelImports() throws {
        #expect(try M.importError(Self.relu()) == nil)
    }

    @Test func opsetsFromTheFutureAreRefusedNamingBothVersions() throws {
        try Self.expect(Self.relu { $0.opsetImport[0].version = 999 }, .unsupported, ["opset 999", "1 to 21"])
        try Self.expect(Self.relu { $0.opsetImport[0].version = 0 }, .unsupported, ["opset 0"])
    }

    @Test func irVersionsOutsideTheRangeAreRefused() throws {
        try Self.expect(Self.relu { $0.irVersion = 999 }, .unsupported, ["IR version is 999", "3", "11"])
        try Self.expect(Self.relu { $0.irVersion = 0 }, .unsupported, ["IR version is 0"])
    }

    @Test func aMissingOrAmbiguousDefaultOpsetIsRefused() throws {
        try Self.expect(Self.relu { $0.opsetImport = [] }, .invalidGraph, ["no default-domain"])
        try Self.expect(Self.relu { $0.opsetImport.append($0.opsetImport[0]) }, .invalidGraph, ["twice"])
    }

    @Test func twoInitializersWithOneNameAreRefused() throws {
        let w = M.floatTensor("w", dims: [1], values: [1])
        let proto = M.model(
            M.graph(
                nodes: [M.node("Add", ["x", "w"], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])],
                initializers: [w, w]
            )
        )
        try Self.expect(proto, .invalidGraph, ["two initializers", "'w'"])
    }

    @Test func twoNodesProducingOneTensorAreRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["y"], name: "first"), M.node("Sigmoid", ["x"], ["y"], name: "second")],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expect(proto, .invalidGraph, ["node 'second'", "writes 'y'", "single assignment"])
        // A node may not overwrite a graph input either.
        let shadow = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["x"], name: "shadow")],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("x", [1])]
            )
        )
        try Self.expect(shadow, .invalidGraph, ["node 'shadow'", "writes 'x'"])
    }

    @Test func anAttributeGivenTwiceIsRefused() throws {
        let proto = Self.relu {
            $0.graph.node[0].attribute = [M.intsAttribute("perm", [0]), M.intsAttribute("perm", [0])]
        }
        try Self.expect(proto, .invalidGraph, ["attribute 'perm' twice"])
    }

    @Test func attributesOfTheWrongTypeAreRefused() throws {
        var strides = Onnx_AttributeProto()
        strides.name = "strides"
        strides.type = .float
        strides.f = 2
        try Self.expect(
            Self.relu { $0.graph.node[0].attribute = [strides] },
            .invalidGraph,
            ["'strides' must be of type ints", "float"]
        )
        // A declared type that disagrees with the value carried.
        var mixed = Onnx_AttributeProto()
        mixed.name = "axis"
        mixed.type = .int
        mixed.f = 1
        try Self.expect(
            Self.relu { $0.graph.node[0].attribute = [mixed] },
            .invalidGraph,
            ["'axis' is declared int but carries a float"]
        )
    }

    @Test func aTensorWithTwoDataFieldsIsRefused() throws {
        var w = M.floatTensor("w", dims: [1], values: [1])
        w.rawData = Data(repeating: 0, count: 4)
        let proto = M.model(
            M.graph(
                nodes: [M.node("Add", ["x", "w"], ["y"])],
                inputs: [M.valueInfo("x", [1])],
                outputs: [M.valueInfo("y", [1])],
                initializers: [w]
            )
        )
        try Self.expect(proto, .invalidGraph, ["initializer 'w'", "raw_data and float_data"])
    }

    @Test func negativeDeclaredDimensionsAreRefused() throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Relu", ["x"], ["y"])],
                inputs: [M.valueInfo("x", [-5, 3])],
                outputs: [M.valueInfo("y", [1])]
            )
        )
        try Self.expect(proto, .invalidGraph, ["'x'", "dimension -5"])
    }
}
