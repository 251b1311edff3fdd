import TensorEngine

/// Convolution, pooling, normalisation, dense layers and softmax.
enum NetworkOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("Conv", conv),
        ("MaxPool", maxPool),
        ("AveragePool", averagePool),
        ("GlobalAveragePool", { c in [.float(globalAvgPool2d(try spatial4D(c, try c.tensor(0))))] }),
        ("GlobalMaxPool", { c in [.float(globalMaxPool2d(try spatial4D(c, try c.tensor(0))))] }),
        ("Gemm", gemmOperator),
        ("MatMul", matMul),
        ("Softmax", { c in [.float(try softmaxFamily(c, log: false))] }),
        ("LogSoftmax", { c in [.float(try softmaxFamily(c, log: true))] }),
    ]

    static func spatial4D(_ c: NodeContext, _ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else {
            throw c.error(.unsupported, "input of shape \(x.shape): only 2-D images (N,C,H,W) are supported")
        }
        return x
    }

    /// Resolves `auto_pad` and `pads` to (top, left, bottom, right) for a 2-D window.
    static func padding(
        _ c: NodeContext,
        input: [Int],
        kernel: [Int],
        strides: [Int],
        dilations: [Int]
    ) throws -> (Int, Int, Int, Int) {
        let autoPad = c.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET":
            let pads = c.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
                throw c.error(.unsupported, "pads \(pads): need four non-negative values for a 2-D window")
            }
            let bound = c.limits.maximumTensorElements
            guard pads.allSatisfy({ $0 <= bound }) else {
                throw c.error(.limitExceeded, "pads \(pads) are over the element limit of \(bound)")
            }
            return (pads[0], pads[1], pads[2], pads[3])
        case "VALID":
            return (0, 0, 0, 0)
        case "SAME_UPPER", "SAME_LOWER":
            var begin = [0, 0]
            var end = [0, 0]
            for axis in 0..<2 {
                let size = input[axis + 2]
                let out = (size + strides[axis] - 1) / strides[axis]
                let extent = dilations[axis] * (kernel[axis] - 1) + 1
                let total = max(0, (out - 1) * strides[axis] + extent - size)
                begin[axis] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                end[axis] = total - begin[axis]
            }
            return (begin[0], begin[1], end[0], end[1])
        default:
            throw c.error(.unsupported, "auto_pad=\(autoPad) is not an ONNX value")
        }
    }

    /// Strides and dilations of a 2-D window, checked before any arithmetic on them: two of each,
    /// and these and the kernel within 1…(the element limit), so that no sum or product of window
    /// values and extents overflows.
    static func windowAttributes(_ c: NodeContext, kernel: [Int]) throws -> (strides: [Int], dilations: [Int]) {
        let strides = c.ints("strides") ?? [1, 1]
        let dilations = c.ints("dilations") ?? [1, 1]
        let bound = c.limits.maximumTensorElements
        for (name, values) in [("kernel_shape", kernel), ("strides", strides), ("dilations", dilations)] {
            guard values.count == 2 else {
                throw c.error(.unsupported, "\(name) \(values): need two values for a 2-D window")
            }
            guard values.allSatisfy({ $0 >= 1 && $0 <= bound }) else {
                throw c.error(.invalidGraph, "\(name) \(values): each must be in 1...\(bound)")
            }
        }
        return (strides, dilations)
    }

    /// Refuses a window operator whose output, padded input or im2col workspace would be over the
    /// element limit, before anything is allocated. All terms are bounded by `windowAttributes`
    /// and the input's own limit, so the arithmetic here cannot overflow.
    static func checkWindowSizes(
        _ c: NodeContext,
        input x: [Int],
        outChannels: Int,
        kernel: [Int],
        strides: [Int],
        dilations: [Int],
        pads: (Int, Int, Int, Int),
        ceilMode: Bool = false,
        inPerGroup: Int? = nil
    ) throws {
        let paddedH = x[2] + pads.0 + pads.2
        let paddedW = x[3] + pads.1 + pads.3
        let spanH = paddedH - dilations[0] * (kernel[0] - 1) - 1
        let spanW = paddedW - dilations[1] * (kernel[1] - 1) - 1
        let round = ceilMode ? 1 : 0
        let outH = spanH < 0 ? 0 : spanH / strides[0] + 1 + round
        let outW = spanW < 0 ? 0 : spanW / strides[1] + 1 + round
        _ = try c.limits.checkedCount([x[0], outChannels, outH, outW], "the output", node: c.name)
        _ = try c.limits.checkedCount([x[1], paddedH, paddedW], "an image with its padding", node: c.name)
        if let inPerGroup {
            _ = try c.limits.checkedCount(
                [inPerGroup, kernel[0], kernel[1], outH, outW],
                "the convolution's column workspace",
                node: c.name
            )
        }
    }

    static func conv(_ c: NodeContext) throws -> [Value] {
        [.float(try convolution(c, epilogue: nil).output)]
    }

    /// What a fused chain asks of its convolution: add `residual`, then apply the relu.
    struct Epilogue {
        var residual: Tensor?
        var relu: Bool
    }

    /// The Conv node's output, with `epilogue` applied as the kernel stores it (`fused`) when the
    /// residual has exactly the output's shape; otherwise the plain convolution (`fused` false: the
    /// caller runs the rest of its chain node by node).
    static func convolution(_ c: NodeContext, epilogue: Epilogue?) throws -> (output: Tensor, fused: Bool) {
        try c.onlyAttributes(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        let x = try spatial4D(c, try c.tensor(0))
        let w = try c.tensor(1)
        guard w.rank == 4 else {
            throw c.error(.unsupported, "weight of shape \(w.shape): only 2-D convolutions are supported")
        }
        let groups = c.int("group", default: 1)
        let kernel = c.ints("kernel_shape") ?? [w.shape[2], w.shape[3]]
        let (strides, dilations) = try windowAttributes(c, kernel: kernel)
        guard kernel == [w.shape[2], w.shape[3]], groups >= 1, groups <= x.shape[1] else {
            throw c.error(
                .invalidGraph,
                "strides \(strides), dilations \(dilations), kernel_shape \(kernel), group \(groups) "
                    + "do not fit weight \(w.shape) and input \(x.shape)"
            )
        }
        guard w.shape[1] * groups == x.shape[1] else {
            throw c.error(.invalidGraph, "weight \(w.shape) with group \(groups) does not match input \(x.shape)")
        }
        let pads = try padding(c, input: x.shape, kernel: kernel, strides: strides, dilations: dilations)
        try checkWindowSizes(
            c,
            input: x.shape,
            outChannels: w.shape[0],
            kernel: kernel,
            strides: strides,
            dilations: dilations,
            pads: pads,
            inPerGroup: w.shape[1]
        )
        let options = Conv2DOptions(
            stride: (strides[0], strides[1]),
            dilation: (dilations[0], dilations[1]),
            padding: pads,
            groups: groups
        )
        let geometry = options.unvalidatedGeometry(input: x.shape, filter: w.shape)
        if let problem = geometry.validate() { throw c.error(.invalidGraph, problem) }
        let bias = try c.optionalInput(2).map { b -> Tensor in
            let t = b.asTensor
            guard t.shape == [w.shape[0]] else { throw c.error(.invalidGraph, "bias \(t.shape) for weight \(w.shape)") }
            return t
        }
        if let epilogue {
            let shape = [geometry.batch, geometry.outChannels, geometry.outHeight, geometry.outWidth]
            if epilogue.residual.map({ $0.shape == shape }) ?? true {
                let y = fusedConv2d(
                    x,
                    w,
                    bias: bias,
                    residual: epilogue.residual,
                    relu: epilogue.relu,
                    options: options
                )
                return (y, true)
            }
        }
        return (conv2d(x, w, bias: bias, options: options), false)
    }

    static func poolOptions(_ c: NodeContext, _ x: Tensor) throws -> Pool2DOptions {
        guard let kernel = c.ints("kernel_shape"), kernel.count == 2 else {
            throw c.error(.unsupported, "kernel_shape \(c.ints("kernel_shape") ?? []): only 2-D pooling is supported")
        }
        let (strides, dilations) = try windowAttributes(c, kernel: kernel)
        let pads = try padding(c, input: x.shape, kernel: kernel, strides: strides, dilations: dilations)
        // As onnxruntime requires: padding narrower than the window (so no window is all padding,
        // and the output stays near the input's size).
        for (axis, before, after) in [(0, pads.0, pads.2), (1, pads.1, pads.3)] {
            let extent = dilations[axis] * (kernel[axis] - 1) + 1
            guard before < extent, after < extent else {
                throw c.error(
                    .invalidGraph,
                    "pads \([pads.0, pads.1, pads.2, pads.3]) must be smaller than the window extent \(extent) "
                        + "on axis \(axis + 2)"
                )
            }
        }
        try checkWindowSizes(
            c,
            input: x.shape,
            outChannels: x.shape[1],
            kernel: kernel,
            strides: strides,
            dilations: dilations,
            pads: pads,
            ceilMode: c.int("ceil_mode", default: 0) == 1
        )
        let options = Pool2DOptions(
            kernel: (kernel[0], kernel[1]),
            stride: (strides[0], strides[1]),
            dilation: (dilations[0], dilations[1]),
            padding: pads,
            ceilMode: c.int("ceil_mode", default: 0) == 1
        )
        let geometry = options.unvalidatedGeometry(input: x.shape)
        if let problem = geometry.validate() { throw c.error(.invalidGraph, problem) }
        return options
    }

    static func maxPool(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"])
        if c.node.output.count > 1 && !c.node.output[1].isEmpty {
            throw c.error(.unsupported, "the Indices output is not supported; re-export without return_indices")
        }
        let x = try spatial4D(c, try c.tensor(0))
        return [.float(maxPool2d(x, options: try poolOptions(c, x)))]
    }

    static func averagePool(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes([
            "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides",
        ])
        let x = try spatial4D(c, try c.tensor(0))
        let options = try poolOptions(c, x)
        return [.float(avgPool2d(x, options: options, countIncludePad: c.int("count_include_pad", default: 0) == 1))]
    }

    static func gemmOperator(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["alpha", "beta", "transA", "transB", "broadcast"])
        let a = try c.tensor(0)
        let b = try c.tensor(1)
        guard a.rank == 2, b.rank == 2 else {
            throw c.error(.invalidGraph, "A \(a.shape) and B \(b.shape) must be matrices")
        }
        let ta = c.int("transA", default: 0) == 1
        let tb = c.int("transB", default: 0) == 1
        let k1 = ta ? a.shape[0] : a.shape[1]
        let k2 = tb ? b.shape[1] : b.shape[0]
        guard k1 == k2 else {
            throw c.error(.invalidGraph, "inner extents differ: A \(a.shape) transA=\(ta), B \(b.shape) transB=\(tb)")
        }
        let cTensor = c.optionalInput(2)?.asTensor
        let outShape = [ta ? a.shape[1] : a.shape[0], tb ? b.shape[0] : b.shape[1]]
        _ = try c.limits.checkedCount(outShape, "the output", node: c.name)
        if let cTensor, Kernels.broadcastShape(cTensor.shape, outShape) != outShape {
            throw c.error(.invalidGraph, "C \(cTensor.shape) does not broadcast to \(outShape)")
        }
        return [
            .float(
                gemm(
                    a,
                    b,
                    cTensor,
                    alpha: c.float("alpha", default: 1),
                    beta: c.float("beta", default: 1),
                    transposeA: ta,
                    transposeB: tb
                )
            )
        ]
    }

    /// MatMul with NumPy semantics: a 1-D operand becomes a matrix (a row on the left, a column on
    /// the right, the added axis dropped from the result); more axes are broadcast batch axes.
    static func matMul(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes([])
        let a = try c.tensor(0)
        let b = try c.tensor(1)
        guard a.rank >= 1, b.rank >= 1 else { throw c.error(.invalidGraph, "MatMul of \(a.shape) and \(b.shape)") }
        let a2 = a.rank == 1 ? a.reshaped([1, a.shape[0]]) : a
        let b2 = b.rank == 1 ? b.reshaped([b.shape[0], 1]) : b
        let M = a2.shape[a2.rank - 2]
        let N = b2.shape[b2.rank - 1]
        guard a2.shape[a2.rank - 1] == b2.shape[b2.rank - 2],
            let batch = Kernels.broadcastShape(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2)))
        else {
            throw c.error(.invalidGraph, "MatMul of \(a.shape) and \(b.shape): the shapes do not multiply")
        }
        var shape = batch
        if a.rank > 1 { shape.append(M) }
        if b.rank > 1 { shape.append(N) }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= c.limits.maximumTensorElements else {
                throw c.error(.limitExceeded, "MatMul of \(a.shape) and \(b.shape) gives more than the element limit")
            }
            count = product
        }
        return [.float(batchedMatmul(a2, b2).reshaped(shape))]
    }

    /// Softmax/LogSoftmax: before opset 13 the input is coerced to 2-D at `axis` (default 1); from
    /// 13 on it is a single axis (default −1).
    static func softmaxFamily(_ c: NodeContext, log: Bool) throws -> Tensor {
        let x = try c.tensor(0)
        let f: (Tensor, Int) -> Tensor = log ? { logSoftmax($0, axis: $1) } : { softmax($0, axis: $1) }
        if c.opset >= 13 {
            let axis = c.int("axis", default: -1)
            guard axis >= -x.rank && axis < max(x.rank, 1) else {
                throw c.error(.invalidGraph, "axis \(axis) for \(x.shape)")
            }
            return f(x, axis)
        }
        let axis = c.int("axis", default: 1)
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0 && a <= x.rank else { throw c.error(.invalidGraph, "axis \(axis) for \(x.shape)") }
        return f(x.flattened(axis: a), 1).reshaped(x.shape)
    }
}
