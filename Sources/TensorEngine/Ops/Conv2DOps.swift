// The convolution family, closed under differentiation (STYLE.md 4):
//   conv2d(x, w)              VJP: dx = conv2dBackwardInput(g, w),  dw = conv2dBackwardFilter(x, g)
//   conv2dBackwardInput(g, w) VJP: dg = conv2d(gg, w),              dw = conv2dBackwardFilter(gg, g)
//   conv2dBackwardFilter(x,g) VJP: dx = conv2dBackwardInput(g, gw), dg = conv2d(x, gw)
// x is (N,C,H,W), w is (K,C/groups,R,S), y and g are (N,K,Ho,Wo).

/// Stride, dilation, padding and groups of a 2-D convolution.
public struct Conv2DOptions: Sendable, Hashable {
    public var strideH = 1, strideW = 1
    public var dilationH = 1, dilationW = 1
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var groups = 1

    public init(
        stride: (Int, Int) = (1, 1),
        dilation: (Int, Int) = (1, 1),
        padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0),
        groups: Int = 1
    ) {
        (strideH, strideW) = stride
        (dilationH, dilationW) = dilation
        (padTop, padLeft, padBottom, padRight) = padding
        self.groups = groups
    }

    /// Symmetric padding `p` on every side.
    public init(stride: Int, padding p: Int, dilation: Int = 1, groups: Int = 1) {
        self.init(stride: (stride, stride), dilation: (dilation, dilation), padding: (p, p, p, p), groups: groups)
    }

    /// The kernel geometry for input shape (N,C,H,W) and filter shape (K,C/groups,R,S).
    /// - Precondition: the shapes and options are consistent.
    public func geometry(input: [Int], filter: [Int]) -> Conv2DGeometry {
        precondition(
            input.count == 4 && filter.count == 4,
            "conv2d: input \(input) and filter \(filter) must be rank 4"
        )
        precondition(
            filter[1] * groups == input[1],
            "conv2d: filter \(filter) with \(groups) groups does not match input channels of \(input)"
        )
        let g = unvalidatedGeometry(input: input, filter: filter)
        if let problem = g.validate() { preconditionFailure("conv2d: \(problem)") }
        return g
    }

    /// The kernel geometry for rank-4 shapes, not yet validated: callers that validate user data
    /// themselves (the ONNX importer) check `validate()` and throw instead of trapping.
    public func unvalidatedGeometry(input: [Int], filter: [Int]) -> Conv2DGeometry {
        precondition(
            input.count == 4 && filter.count == 4,
            "conv2d: input \(input) and filter \(filter) must be rank 4"
        )
        return Conv2DGeometry(
            batch: input[0],
            inChannels: input[1],
            height: input[2],
            width: input[3],
            outChannels: filter[0],
            kernelHeight: filter[2],
            kernelWidth: filter[3],
            strideH: strideH,
            strideW: strideW,
            dilationH: dilationH,
            dilationW: dilationW,
            padTop: padTop,
            padLeft: padLeft,
            padBottom: padBottom,
            padRight: padRight,
            groups: groups
        )
    }
}

/// 2-D cross-correlation of x (N,C,H,W) with w (K,C/groups,R,S), plus an optional bias (K).
public func conv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, options: Conv2DOptions = .init()) -> Tensor {
    let geo = options.geometry(input: x.shape, filter: w.shape)
    if let bias { precondition(bias.shape == [w.shape[0]], "conv2d: bias \(bias.shape) for filter \(w.shape)") }
    OpCounters.increment(OpCounters.conv2dCalls)
    let y = Kernels.conv2d(x.scalars, w.scalars, bias: bias?.scalars, geo)
    let out = Tensor(shape: [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth], scalars: y)
    let inputs = bias.map { [x, w, $0] } ?? [x, w]
    return .record("conv2d", out, inputs: inputs) { g, _, needed in
        var grads: [Tensor?] = [
            needed[0] ? conv2dBackwardInput(g, w, inputShape: x.shape, options: options) : nil,
            needed[1] ? conv2dBackwardFilter(x, g, filterShape: w.shape, options: options) : nil,
        ]
        if bias != nil { grads.append(needed[2] ? g.sum(axes: [0, 2, 3]) : nil) }
        return grads
    }
}

/// relu(conv2d(x, w) + bias + residual), or without the relu, in one pass over the output: the
/// epilogue runs as the convolution stores its results, so no intermediate tensor is written and read
/// again. Equals the composition of `conv2d`, `+` and `relu` bit for bit (tested), and so do its
/// derivatives to every order: with dz = reluGradient(g, y) (y > 0 exactly where its argument is),
/// dx, dw and the bias take the convolution's VJP of dz and the residual takes dz itself.
public func fusedConv2d(
    _ x: Tensor,
    _ w: Tensor,
    bias: Tensor? = nil,
    residual: Tensor? = nil,
    relu: Bool,
    options: Conv2DOptions = .init()
) -> Tensor {
    let geo = options.geometry(input: x.shape, filter: w.shape)
    let shape = [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth]
    if let bias { precondition(bias.shape == [w.shape[0]], "fusedConv2d: bias \(bias.shape) for filter \(w.shape)") }
    if let residual {
        precondition(residual.shape == shape, "fusedConv2d: residual \(residual.shape) for output \(shape)")
    }
    OpCounters.increment(OpCounters.conv2dCalls)
    let y = Kernels.conv2d(x.scalars, w.scalars, bias: bias?.scalars, geo, residual: residual?.scalars, relu: relu)
    let out = Tensor(shape: shape, scalars: y)
    let inputs = [x, w] + [bias, residual].compactMap { $0 }
    return .record(relu ? "conv2dReLU" : "conv2dAdd", out, inputs: inputs) { g, output, needed in
        let dz = relu ? reluGradient(g, output.detached) : g
        var grads: [Tensor?] = [
            needed[0] ? conv2dBackwardInput(dz, w, inputShape: x.shape, options: options) : nil,
            needed[1] ? conv2dBackwardFilter(x, dz, filterShape: w.shape, options: options) : nil,
        ]
        var next = 2
        if bias != nil {
            grads.append(needed[next] ? dz.sum(axes: [0, 2, 3]) : nil)
            next += 1
        }
        if residual != nil { grads.append(needed[next] ? dz : nil) }
        return grads
    }
}

/// The adjoint of `conv2d` in its input: maps g (N,K,Ho,Wo) to (N,C,H,W) = `inputShape`.
public func conv2dBackwardInput(_ g: Tensor, _ w: Tensor, inputShape: [Int], options: Conv2DOptions) -> Tensor {
    let geo = options.geometry(input: inputShape, filter: w.shape)
    precondition(
        g.shape == [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth],
        "conv2dBackwardInput: gradient \(g.shape) for input \(inputShape), filter \(w.shape)"
    )
    OpCounters.increment(OpCounters.conv2dBackwardInputCalls)
    let out = Tensor(shape: inputShape, scalars: Kernels.conv2dBackwardInput(g.scalars, w.scalars, geo))
    return .record("conv2dBackwardInput", out, inputs: [g, w]) { gg, _, needed in
        [
            needed[0] ? conv2d(gg, w, options: options) : nil,
            needed[1] ? conv2dBackwardFilter(gg, g, filterShape: w.shape, options: options) : nil,
        ]
    }
}

/// The adjoint of `conv2d` in its filter: from x (N,C,H,W) and g (N,K,Ho,Wo) to (K,C/groups,R,S).
public func conv2dBackwardFilter(_ x: Tensor, _ g: Tensor, filterShape: [Int], options: Conv2DOptions) -> Tensor {
    let geo = options.geometry(input: x.shape, filter: filterShape)
    precondition(
        g.shape == [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth],
        "conv2dBackwardFilter: gradient \(g.shape) for input \(x.shape), filter \(filterShape)"
    )
    OpCounters.increment(OpCounters.conv2dBackwardFilterCalls)
    let out = Tensor(shape: filterShape, scalars: Kernels.conv2dBackwardFilter(x.scalars, g.scalars, geo))
    return .record("conv2dBackwardFilter", out, inputs: [x, g]) { gw, _, needed in
        [
            needed[0] ? conv2dBackwardInput(g, gw, inputShape: x.shape, options: options) : nil,
            needed[1] ? conv2d(x, gw, options: options) : nil,
        ]
    }
}
