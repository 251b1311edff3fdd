import NN
import TensorEngine

/// Maps a student feature map into its teacher's space for distillation: average pooling of both maps
/// to the smaller of their spatial sizes, then, when the channel counts differ (or when asked), a
/// learned 1×1 convolution from the student's channels to the teacher's. Trained with the student and
/// thrown away afterwards: it is never part of the exported model.
public final class FeatureAdapter: ParameterContainer {
    /// The 1×1 convolution (nil: channels match and none was asked for).
    public let projection: Conv2D?
    /// Student and teacher map shapes of one example, (C, H, W).
    public let studentShape: [Int]
    public let teacherShape: [Int]

    /// An adapter from student maps of `studentShape` to teacher maps of `teacherShape` (both (C, H, W)).
    /// - Precondition: both are rank 3 with positive sizes; when the spatial sizes differ, the larger is
    ///   a whole multiple of the smaller.
    /// `name` prefixes the projection's parameter names (`<name>.weight`), unique per adapter so that
    /// optimizer state and checkpoints tell adapters apart.
    public init(
        name: String,
        student studentShape: [Int],
        teacher teacherShape: [Int],
        alwaysProject: Bool = false,
        seed: UInt64
    ) {
        precondition(
            studentShape.count == 3 && teacherShape.count == 3 && (studentShape + teacherShape).allSatisfy { $0 > 0 },
            "FeatureAdapter: student \(studentShape), teacher \(teacherShape)"
        )
        for axis in 1...2 {
            let (a, b) = (studentShape[axis], teacherShape[axis])
            precondition(max(a, b) % min(a, b) == 0, "FeatureAdapter: sizes \(a) and \(b) are not multiples")
        }
        self.studentShape = studentShape
        self.teacherShape = teacherShape
        if alwaysProject || studentShape[0] != teacherShape[0] {
            var rng = RandomGenerator(seed: seed)
            let conv = Conv2D(
                inChannels: studentShape[0],
                outChannels: teacherShape[0],
                kernelSize: 1,
                bias: false,
                rng: &rng
            )
            conv.qualifyNames(under: name)
            projection = conv
        } else {
            projection = nil
        }
    }

    public var parameters: [Parameter] { projection?.parameters ?? [] }
    public var buffers: [Buffer] { [] }

    /// The common spatial size (H, W): the smaller of the two maps' in each axis.
    public var commonSize: (height: Int, width: Int) {
        (min(studentShape[1], teacherShape[1]), min(studentShape[2], teacherShape[2]))
    }

    /// The map as the loss compares it, (N, C_t·H·W) flattened per example.
    public func student(_ z: Tensor) -> Tensor {
        var h = Self.pool(z, to: commonSize)
        if let projection { h = projection(h, context: ForwardContext()) }
        return h.flattened(axis: 1)
    }

    /// The teacher's map pooled to the common size, flattened per example.
    public func teacher(_ z: Tensor) -> Tensor { Self.pool(z, to: commonSize).flattened(axis: 1) }

    static func pool(_ z: Tensor, to size: (height: Int, width: Int)) -> Tensor {
        let (h, w) = (z.shape[2], z.shape[3])
        guard h != size.height || w != size.width else { return z }
        let (kh, kw) = (h / size.height, w / size.width)
        return avgPool2d(z, options: Pool2DOptions(kernel: (kh, kw)))
    }
}

/// The map a pass recorded under `name`. - Precondition: the pass was asked for it and the model records it.
func recordedTap(_ context: ForwardContext, _ name: String) -> Tensor {
    guard let map = context.taps[name] else { preconditionFailure("the model recorded no feature map '\(name)'") }
    return map
}
