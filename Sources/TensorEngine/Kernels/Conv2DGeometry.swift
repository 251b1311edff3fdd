// The geometry of a 2-D convolution and the algorithms that can compute it (Convolution.swift).

/// The geometry of a 2-D convolution: x is (N,C,H,W), w is (K,C/groups,R,S), y is (N,K,Ho,Wo).
public struct Conv2DGeometry: Sendable, Equatable, Hashable {
    /// N.
    public var batch: Int
    /// C.
    public var inChannels: Int
    /// H.
    public var height: Int
    /// W.
    public var width: Int
    /// K.
    public var outChannels: Int
    /// R.
    public var kernelHeight: Int
    /// S.
    public var kernelWidth: Int
    public var strideH: Int
    public var strideW: Int
    public var dilationH: Int
    public var dilationW: Int
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int
    /// G: input and output channels are split into G independent groups (G == C is depthwise).
    public var groups: Int

    public init(
        batch: Int,
        inChannels: Int,
        height: Int,
        width: Int,
        outChannels: Int,
        kernelHeight: Int,
        kernelWidth: Int,
        strideH: Int = 1,
        strideW: Int = 1,
        dilationH: Int = 1,
        dilationW: Int = 1,
        padTop: Int = 0,
        padLeft: Int = 0,
        padBottom: Int = 0,
        padRight: Int = 0,
        groups: Int = 1
    ) {
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideH = strideH
        self.strideW = strideW
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.groups = groups
    }

    /// Ho = (H + padTop + padBottom − dilationH·(R−1) − 1) / strideH + 1 (floor division).
    public var outHeight: Int {
        Self.outExtent(height, padTop + padBottom, kernelHeight, strideH, dilationH)
    }

    /// Wo = (W + padLeft + padRight − dilationW·(S−1) − 1) / strideW + 1 (floor division).
    public var outWidth: Int {
        Self.outExtent(width, padLeft + padRight, kernelWidth, strideW, dilationW)
    }

    /// N·C·H·W.
    public var inputCount: Int { batch * inChannels * height * width }
    /// K·(C/G)·R·S.
    public var weightCount: Int { outChannels * (inChannels / max(groups, 1)) * kernelHeight * kernelWidth }
    /// N·K·Ho·Wo.
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }

    /// `nil` when the geometry is consistent, else a message naming the offending values.
    public func validate() -> String? {
        let positive: [(String, Int)] = [
            ("batch", batch), ("inChannels", inChannels), ("height", height), ("width", width),
            ("outChannels", outChannels), ("kernelHeight", kernelHeight), ("kernelWidth", kernelWidth),
            ("strideH", strideH), ("strideW", strideW), ("dilationH", dilationH), ("dilationW", dilationW),
            ("groups", groups),
        ]
        for (name, value) in positive where value < 1 {
            return "Conv2DGeometry: \(name) = \(value) must be positive"
        }
        let pads = [("padTop", padTop), ("padLeft", padLeft), ("padBottom", padBottom), ("padRight", padRight)]
        for (name, value) in pads where value < 0 {
            return "Conv2DGeometry: \(name) = \(value) must not be negative"
        }
        if inChannels % groups != 0 || outChannels % groups != 0 {
            return "Conv2DGeometry: inChannels \(inChannels) and outChannels \(outChannels) "
                + "must both be divisible by groups \(groups)"
        }
        if outHeight < 1 || outWidth < 1 {
            return "Conv2DGeometry: output \(outHeight)×\(outWidth) is empty for input \(height)×\(width), "
                + "kernel \(kernelHeight)×\(kernelWidth), dilation (\(dilationH),\(dilationW)), "
                + "pads (\(padTop),\(padLeft),\(padBottom),\(padRight))"
        }
        return nil
    }

    static func outExtent(_ size: Int, _ pads: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
        let span = size + pads - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / max(stride, 1) + 1
    }

    /// C/G.
    var inPerGroup: Int { inChannels / groups }
    /// K/G.
    var outPerGroup: Int { outChannels / groups }
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideH == 1 && strideW == 1
            && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
    }
    var isUnitStride: Bool { strideH == 1 && strideW == 1 }

    /// The adjoint of a stride-1 convolution as a convolution: dy (N,K,Ho,Wo) with the kernel flipped
    /// and its channel axes swapped, padded by dilation·(R−1) − pad, gives dx (N,C,H,W). Checks that
    /// the paddings are not negative (pad ≤ dilation·(R−1)) and that the output is x's size.
    func unitStrideAdjoint(_ name: String) -> Conv2DGeometry {
        let eh = dilationH * (kernelHeight - 1)
        let ew = dilationW * (kernelWidth - 1)
        let adjoint = Conv2DGeometry(
            batch: batch,
            inChannels: outChannels,
            height: outHeight,
            width: outWidth,
            outChannels: inChannels,
            kernelHeight: kernelHeight,
            kernelWidth: kernelWidth,
            strideH: 1,
            strideW: 1,
            dilationH: dilationH,
            dilationW: dilationW,
            padTop: eh - padTop,
            padLeft: ew - padLeft,
            padBottom: eh - padBottom,
            padRight: ew - padRight,
            groups: groups
        )
        precondition(
            isUnitStride && min(adjoint.padTop, adjoint.padLeft, adjoint.padBottom, adjoint.padRight) >= 0,
            "\(name): needs stride 1 and pad ≤ dilation·(R−1)"
        )
        precondition(
            adjoint.outHeight == height && adjoint.outWidth == width,
            "\(name): the adjoint gives \(adjoint.outHeight)×\(adjoint.outWidth), expected \(height)×\(width)"
        )
        return adjoint
    }
}

/// Which lowering a convolution kernel uses. `automatic` picks per geometry; the others exist so
/// that tests and the benchmark can pin one. A pinned algorithm that does not apply to the
/// geometry falls back to im2col: pointwise needs 1×1, stride 1, no padding; direct needs stride 1,
/// and for the input gradient also pad ≤ dilation·(R−1); winograd (F(2×2, 3×3)) and winograd4
/// (F(4×4, 3×3)) need 3×3, stride 1, no dilation, one group (and pad ≤ 2 for the input gradient),
/// and have no filter gradient of their own (direct runs it).
public enum Conv2DAlgorithm: Sendable, Hashable, CaseIterable {
    case automatic
    case im2col
    case direct
    case pointwise
    case winograd
    case winograd4
}
