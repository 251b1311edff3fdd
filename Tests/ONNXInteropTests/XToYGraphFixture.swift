import Foundation
import SwiftProtobuf

@testable import ONNXInterop

/// A graph with one float input "x" and one output "y" (opset 17), made of `nodes` and
/// `initializers`, imported: the hand-built models of the fusion tests.
func importedXToYGraph(nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto]) throws -> ImportedGraph {
    var proto = Onnx_ModelProto()
    proto.irVersion = 8
    var opset = Onnx_OperatorSetIdProto()
    opset.version = 17
    proto.opsetImport = [opset]
    proto.graph.node = nodes
    proto.graph.initializer = initializers
    var x = Onnx_ValueInfoProto()
    x.name = "x"
    x.type.tensorType.elemType = 1
    var y = x
    y.name = "y"
    proto.graph.input = [x]
    proto.graph.output = [y]
    return try ImportedGraph(try ONNXModel(serialized: try proto.serializedBytes()))
}
