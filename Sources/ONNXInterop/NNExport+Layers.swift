import NN
import TensorEngine

extension NNExport {
    /// A value of the graph being written: its name and its shape for a batch of one.
    struct Edge {
        var name: String
        var shape: [Int]
    }

    /// Writes the nodes computing `layer` (evaluation mode) on `x`; returns the output. `path` is
    /// the layer's dotted place in the network (`stage1.block0`), used to name its nodes.
    /// - Throws: `ONNXError` `.unsupported` for a layer type with no ONNX form, `.invalidInput`
    ///   when the layer does not fit the shape of `x`.
    static func emit(_ layer: any Layer, _ x: Edge, path: String, into b: inout ONNXGraphBuilder) throws -> Edge {
        let name = path.isEmpty ? String(describing: type(of: layer)) : path
        switch layer {
        case let conv as Conv2D:
            return try emitConv(conv, x, name: name, into: &b)
        case let bn as BatchNorm2D:
            return try emitBatchNorm(bn, x, name: name, into: &b)
        case is ReLU:
            return Edge(name: b.node("Relu", name: name, inputs: [x.name]), shape: x.shape)
        case let pool as MaxPool2D:
            return try emitPool("MaxPool", pool.options, countIncludePad: nil, x, name: name, into: &b)
        case let pool as AvgPool2D:
            return try emitPool("AveragePool", pool.options, countIncludePad: false, x, name: name, into: &b)
        case is GlobalAvgPool2D:
            try requireImages(x, layer: name, kind: "GlobalAvgPool2D")
            let y = b.node("GlobalAveragePool", name: name, inputs: [x.name])
            return Edge(name: y, shape: [x.shape[0], x.shape[1], 1, 1])
        case is Flatten:
            guard x.shape.count >= 2 else {
                throw ONNXError(.invalidInput, "layer '\(name)' (Flatten) needs a batch axis; input shape \(x.shape)")
            }
            let y = b.node("Flatten", name: name, inputs: [x.name], attributes: [.int("axis", 1)])
            return Edge(name: y, shape: [x.shape[0], x.shape.dropFirst().reduce(1, *)])
        case let linear as Linear:
            return try emitLinear(linear, x, name: name, into: &b)
        case let sequential as Sequential:
            var h = x
            for child in sequential.layers {
                h = try emit(child.layer, h, path: path.isEmpty ? child.name : "\(path).\(child.name)", into: &b)
            }
            return h
        case let block as BasicBlock:
            return try emitBasicBlock(block, x, path: name, into: &b)
        case is Tap:
            return x
        default:
            throw ONNXError(
                .unsupported,
                "layer '\(name)' of type \(type(of: layer)) cannot be exported to ONNX; exportable layers are "
                    + "Conv2D, BatchNorm2D, ReLU, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, Linear, "
                    + "Sequential, BasicBlock and Tap"
            )
        }
    }

    private static func requireImages(_ x: Edge, layer: String, kind: String) throws {
        guard x.shape.count == 4 else {
            throw ONNXError(.invalidInput, "layer '\(layer)' (\(kind)) needs (N,C,H,W) input; it gets \(x.shape)")
        }
    }

    /// Conv (x, W, B) with kernel_shape, strides, pads (top, left, bottom, right), dilations, group.
    private static func emitConv(
        _ conv: Conv2D,
        _ x: Edge,
        name: String,
        into b: inout ONNXGraphBuilder
    ) throws -> Edge {
        try requireImages(x, layer: name, kind: "Conv2D")
        let w = conv.weight.value
        let o = conv.options
        guard x.shape[1] == w.shape[1] * o.groups else {
            throw ONNXError(
                .invalidInput,
                "layer '\(name)' (Conv2D) has weight \(w.shape) with \(o.groups) groups but gets \(x.shape[1]) channels"
            )
        }
        let geometry = o.unvalidatedGeometry(input: x.shape, filter: w.shape)
        if let problem = geometry.validate() {
            throw ONNXError(.invalidInput, "layer '\(name)' (Conv2D) on input \(x.shape): \(problem)")
        }
        var inputs = [x.name, b.initializer(for: conv.weight, name: conv.weight.name, value: w)]
        if let bias = conv.bias {
            inputs.append(b.initializer(for: bias, name: bias.name, value: bias.value))
        }
        let y = b.node(
            "Conv",
            name: name,
            inputs: inputs,
            attributes: [
                .ints("kernel_shape", [w.shape[2], w.shape[3]]),
                .ints("strides", [o.strideH, o.strideW]),
                .ints("pads", [o.padTop, o.padLeft, o.padBottom, o.padRight]),
                .ints("dilations", [o.dilationH, o.dilationW]),
                .int("group", o.groups),
            ]
        )
        return Edge(name: y, shape: [x.shape[0], w.shape[0], geometry.outHeight, geometry.outWidth])
    }

    /// BatchNormalization (x, scale, B, input_mean, input_var) in inference mode. ONNX's momentum
    /// weighs the old running value, so it is 1 − the layer's momentum (unused in inference).
    private static func emitBatchNorm(
        _ bn: BatchNorm2D,
        _ x: Edge,
        name: String,
        into b: inout ONNXGraphBuilder
    ) throws -> Edge {
        guard x.shape.count >= 2, x.shape[1] == bn.channels else {
            throw ONNXError(
                .invalidInput,
                "layer '\(name)' (BatchNorm2D) normalises \(bn.channels) channels but gets input \(x.shape)"
            )
        }
        let inputs = [
            x.name,
            b.initializer(for: bn.weight, name: bn.weight.name, value: bn.weight.value),
            b.initializer(for: bn.bias, name: bn.bias.name, value: bn.bias.value),
            b.initializer(for: bn.runningMean, name: bn.runningMean.name, value: bn.runningMean.value),
            b.initializer(for: bn.runningVariance, name: bn.runningVariance.name, value: bn.runningVariance.value),
        ]
        let y = b.node(
            "BatchNormalization",
            name: name,
            inputs: inputs,
            attributes: [.float("epsilon", bn.epsilon), .float("momentum", 1 - bn.momentum)]
        )
        return Edge(name: y, shape: x.shape)
    }

    /// MaxPool or AveragePool with kernel_shape, strides, pads, ceil_mode (and dilations for
    /// MaxPool; AveragePool has them only from opset 19).
    private static func emitPool(
        _ opType: String,
        _ o: Pool2DOptions,
        countIncludePad: Bool?,
        _ x: Edge,
        name: String,
        into b: inout ONNXGraphBuilder
    ) throws -> Edge {
        try requireImages(x, layer: name, kind: opType)
        let geometry = o.unvalidatedGeometry(input: x.shape)
        if let problem = geometry.validate() {
            throw ONNXError(.invalidInput, "layer '\(name)' (\(opType)) on input \(x.shape): \(problem)")
        }
        var attributes: [Onnx_AttributeProto] = [
            .ints("kernel_shape", [o.kernelH, o.kernelW]),
            .ints("strides", [o.strideH, o.strideW]),
            .ints("pads", [o.padTop, o.padLeft, o.padBottom, o.padRight]),
            .int("ceil_mode", o.ceilMode ? 1 : 0),
        ]
        if let countIncludePad {
            guard o.dilationH == 1, o.dilationW == 1 else {
                throw ONNXError(
                    .unsupported,
                    "layer '\(name)' (AveragePool) has dilation (\(o.dilationH), \(o.dilationW)); ONNX "
                        + "AveragePool takes dilations only from opset 19 and rkd writes opset \(opsetVersion)"
                )
            }
            attributes.append(.int("count_include_pad", countIncludePad ? 1 : 0))
        } else {
            attributes.append(.ints("dilations", [o.dilationH, o.dilationW]))
        }
        let y = b.node(opType, name: name, inputs: [x.name], attributes: attributes)
        return Edge(name: y, shape: [x.shape[0], x.shape[1], geometry.outHeight, geometry.outWidth])
    }

    /// Gemm (x, W, B) with transB = 1: W is stored (out, in), as in NN and PyTorch.
    private static func emitLinear(
        _ linear: Linear,
        _ x: Edge,
        name: String,
        into b: inout ONNXGraphBuilder
    ) throws -> Edge {
        let w = linear.weight.value
        guard x.shape.count == 2, x.shape[1] == w.shape[1] else {
            throw ONNXError(
                .invalidInput,
                "layer '\(name)' (Linear) has weight \(w.shape) (out, in) but gets input \(x.shape); "
                    + "put a Flatten before it"
            )
        }
        var inputs = [x.name, b.initializer(for: linear.weight, name: linear.weight.name, value: w)]
        if let bias = linear.bias {
            inputs.append(b.initializer(for: bias, name: bias.name, value: bias.value))
        }
        let y = b.node("Gemm", name: name, inputs: inputs, attributes: [.int("transB", 1)])
        return Edge(name: y, shape: [x.shape[0], w.shape[0]])
    }

    /// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut being the identity or the
    /// block's projection (1×1 conv and batch norm).
    private static func emitBasicBlock(
        _ block: BasicBlock,
        _ x: Edge,
        path: String,
        into b: inout ONNXGraphBuilder
    ) throws -> Edge {
        var h = try emitConv(block.conv1, x, name: "\(path).conv1", into: &b)
        h = try emitBatchNorm(block.bn1, h, name: "\(path).bn1", into: &b)
        h = Edge(name: b.node("Relu", name: "\(path).relu1", inputs: [h.name]), shape: h.shape)
        h = try emitConv(block.conv2, h, name: "\(path).conv2", into: &b)
        h = try emitBatchNorm(block.bn2, h, name: "\(path).bn2", into: &b)
        let skip = try block.shortcut.map { try emit($0, x, path: "\(path).shortcut", into: &b) } ?? x
        guard skip.shape == h.shape else {
            throw ONNXError(
                .invalidInput,
                "layer '\(path)' (BasicBlock): the residual \(h.shape) and the shortcut \(skip.shape) differ"
            )
        }
        let sum = b.node("Add", name: "\(path).add", inputs: [h.name, skip.name])
        return Edge(name: b.node("Relu", name: "\(path).relu2", inputs: [sum]), shape: h.shape)
    }
}
