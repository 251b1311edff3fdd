// Pooling. Max pooling is a gather at the argmax (so its derivatives are the gather/scatter pair);
// average pooling and its adjoint form a closed pair.

/// Window, stride, padding, dilation and ceil mode of a 2-D pooling.
public struct Pool2DOptions: Sendable, Hashable {
    public var kernelH, kernelW: Int
    public var strideH, strideW: Int
    public var dilationH = 1, dilationW = 1
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var ceilMode = false

    public init(
        kernel: (Int, Int),
        stride: (Int, Int)? = nil,
        dilation: (Int, Int) = (1, 1),
        padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0),
        ceilMode: Bool = false
    ) {
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride ?? kernel
        (dilationH, dilationW) = dilation
        (padTop, padLeft, padBottom, padRight) = padding
        self.ceilMode = ceilMode
    }

    /// A square window `k` with stride `s` (default `k`) and symmetric padding `p`.
    public init(kernel k: Int, stride s: Int? = nil, padding p: Int = 0, ceilMode: Bool = false) {
        self.init(kernel: (k, k), stride: (s ?? k, s ?? k), padding: (p, p, p, p), ceilMode: ceilMode)
    }

    /// The kernel geometry for input shape (N,C,H,W).
    /// - Precondition: the options fit the input.
    public func geometry(input: [Int]) -> Pool2DGeometry {
        precondition(input.count == 4, "pool2d: input \(input) must be rank 4")
        let g = unvalidatedGeometry(input: input)
        if let problem = g.validate() { preconditionFailure("pool2d: \(problem)") }
        return g
    }

    /// The kernel geometry for a rank-4 input, not yet validated (see `Conv2DOptions.unvalidatedGeometry`).
    public func unvalidatedGeometry(input: [Int]) -> Pool2DGeometry {
        precondition(input.count == 4, "pool2d: input \(input) must be rank 4")
        return Pool2DGeometry(
            batch: input[0],
            channels: input[1],
            height: input[2],
            width: input[3],
            kernelHeight: kernelH,
            kernelWidth: kernelW,
            strideH: strideH,
            strideW: strideW,
            dilationH: dilationH,
            dilationW: dilationW,
            padTop: padTop,
            padLeft: padLeft,
            padBottom: padBottom,
            padRight: padRight,
            ceilMode: ceilMode
        )
    }
}

/// Max pooling of x (N,C,H,W); the gradient flows to the first maximum of each window. The op is
/// `gatherFlat` at the kernel's argmax (VJP: the scatter-add there), with the kernel's values as its
/// output instead of a second pass that gathers them again.
public func maxPool2d(_ x: Tensor, options: Pool2DOptions) -> Tensor {
    let geo = options.geometry(input: x.shape)
    let (values, argmax) = Kernels.maxPool2d(x.scalars, geo)
    let out = Tensor(shape: [geo.batch, geo.channels, geo.outHeight, geo.outWidth], scalars: values)
    let inShape = x.shape
    return .record("maxPool2d", out, inputs: [x]) { g, _ in [g.scatterAddFlat(indices: argmax, shape: inShape)] }
}

/// Average pooling of x (N,C,H,W). `countIncludePad` divides by the window size within the padded
/// input (ONNX count_include_pad = 1); otherwise by the number of real elements in the window.
public func avgPool2d(_ x: Tensor, options: Pool2DOptions, countIncludePad: Bool = false) -> Tensor {
    let geo = options.geometry(input: x.shape)
    let out = Tensor(
        shape: [geo.batch, geo.channels, geo.outHeight, geo.outWidth],
        scalars: Kernels.avgPool2d(x.scalars, geo, countIncludePad: countIncludePad)
    )
    let inShape = x.shape
    return .record("avgPool2d", out, inputs: [x]) { g, _ in
        [avgPool2dBackward(g, inputShape: inShape, options: options, countIncludePad: countIncludePad)]
    }
}

/// The adjoint of `avgPool2d`: spreads g (N,C,Ho,Wo) over the windows of an (N,C,H,W) input.
public func avgPool2dBackward(_ g: Tensor, inputShape: [Int], options: Pool2DOptions, countIncludePad: Bool) -> Tensor {
    let geo = options.geometry(input: inputShape)
    precondition(
        g.shape == [geo.batch, geo.channels, geo.outHeight, geo.outWidth],
        "avgPool2dBackward: gradient \(g.shape) for input \(inputShape)"
    )
    let out = Tensor(
        shape: inputShape,
        scalars: Kernels.avgPool2dBackward(g.scalars, geo, countIncludePad: countIncludePad)
    )
    return .record("avgPool2dBackward", out, inputs: [g]) { gg, _ in
        [avgPool2d(gg, options: options, countIncludePad: countIncludePad)]
    }
}

/// The mean over H and W, keeping them as 1×1 (N,C,1,1).
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 3, "globalAvgPool2d: input \(x.shape) needs spatial axes")
    return x.mean(axes: Array(2..<x.rank), keepDims: true)
}

/// The maximum over H and W, keeping them as 1×1 (N,C,1,1).
public func globalMaxPool2d(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 3, "globalMaxPool2d: input \(x.shape) needs spatial axes")
    return x.max(axes: Array(2..<x.rank), keepDims: true)
}
