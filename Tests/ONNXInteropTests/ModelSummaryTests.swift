import Foundation
import SwiftProtobuf
import Testing

@testable import ONNXInterop

@Suite("Model summaries for inspect")
struct ModelSummaryTests {
    /// Values read off the file with onnx.load (python): IR 3, pytorch 0.3, opset 6, input '0'
    /// [2,3,7,5] (initializers '1' and '2' excluded), output '3' [2,4,5,4], 4·3·3·2 + 4 parameters.
    @Test func pytorchConv2d() throws {
        let url = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx")
        let summary = try ONNXModel(contentsOf: url).summary
        #expect(summary.irVersion == 3)
        #expect(summary.producerName == "pytorch")
        #expect(summary.producerVersion == "0.3")
        #expect(summary.opsetImports.map(\.version) == [6])
        #expect(
            summary.inputs == [.init(name: "0", elementType: "float", shape: [.size(2), .size(3), .size(7), .size(5)])]
        )
        #expect(summary.outputs.map(\.name) == ["3"])
        #expect(summary.operators == [.init(domain: "", opType: "Conv", count: 1, supported: true)])
        #expect(summary.parameterCount == 4 * 3 * 3 * 2 + 4)
        #expect(summary.fullySupported)
    }

    /// Every unsupported node is listed in graph order, not only the first; symbolic dims survive.
    @Test func everyUnsupportedNodeIsListed() throws {
        var proto = Onnx_ModelProto()
        proto.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 17
        proto.opsetImport = [opset]
        func node(
            _ op: String,
            _ name: String,
            _ input: String,
            _ output: String,
            domain: String = ""
        ) -> Onnx_NodeProto {
            var n = Onnx_NodeProto()
            n.opType = op
            n.name = name
            n.domain = domain
            n.input = [input]
            n.output = [output]
            return n
        }
        proto.graph.node = [
            node("Acos", "first", "x", "a"), node("Relu", "fine", "a", "b"),
            node("Custom", "", "b", "c", domain: "com.example"), node("Acos", "second", "c", "y"),
        ]
        var x = Onnx_ValueInfoProto()
        x.name = "x"
        x.type.tensorType.elemType = 1
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        var ten = Onnx_TensorShapeProto.Dimension()
        ten.dimValue = 10
        x.type.tensorType.shape.dim = [batch, ten]
        var y = x
        y.name = "y"
        proto.graph.input = [x]
        proto.graph.output = [y]
        let summary = try ONNXModel(serialized: try proto.serializedBytes()).summary
        #expect(summary.unsupportedNodes.map(\.nodeName) == ["first", "#2", "second"])
        #expect(summary.unsupportedNodes[1].reason.contains("com.example"))
        #expect(summary.unsupportedNodes[0].reason.contains("Acos (opset 17)"))
        #expect(summary.inputs[0].shape == [.symbol("N"), .size(10)])
        #expect(!summary.fullySupported)
        #expect(
            summary.operators.map { "\($0.domain)/\($0.opType)/\($0.count)/\($0.supported)" } == [
                "/Acos/2/false", "/Relu/1/true", "com.example/Custom/1/false",
            ]
        )
    }
}
