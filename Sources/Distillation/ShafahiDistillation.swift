import NN
import TensorEngine

/// The baseline of Shafahi et al. 2020, "Adversarially robust transfer learning" (arXiv 1905.08232):
/// distillation at the last feature layer only, after global average pooling,
/// `CE + λ·‖GAP(z_L^t) − GAP(z_L^s)‖²`, and, when teacher and student share their classes, Hinton's KL
/// on logits at temperature T (`+ γ·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T))`). The student is trained on
/// clean data; the teacher is frozen (evaluation mode, no gradient).
public struct ShafahiDistillation {
    public let teacher: any Classifier
    public let student: any Classifier
    /// The last feature maps, pooled to (C, 1, 1); the adapter maps the student's channels onto the
    /// teacher's when they differ.
    public let pair: FeaturePair
    /// λ, the weight of the feature term.
    public var lambda: Float
    /// γ, the weight of the logit term (0: off; needs the same classes).
    public var logitWeight: Float
    /// T.
    public var temperature: Float

    /// - Precondition: the taps exist; a logit term needs equal class counts.
    public init(
        teacher: any Classifier,
        student: any Classifier,
        teacherTap: String,
        studentTap: String,
        teacherChannels: Int,
        studentChannels: Int,
        lambda: Float = 1,
        logitWeight: Float = 0,
        temperature: Float = 4,
        seed: UInt64
    ) {
        precondition(
            logitWeight == 0 || teacher.classCount == student.classCount,
            "Shafahi: logit term needs equal classes"
        )
        self.teacher = teacher
        self.student = student
        pair = FeaturePair(
            teacherTap: teacherTap,
            studentTap: studentTap,
            adapter: FeatureAdapter(
                name: "adapters.0",
                student: [studentChannels, 1, 1],
                teacher: [teacherChannels, 1, 1],
                seed: seed
            )
        )
        self.lambda = lambda
        self.logitWeight = logitWeight
        self.temperature = temperature
    }

    public var trainableParameters: [Parameter] { student.parameters + pair.adapter.parameters }

    /// The loss of a clean batch: the differentiable objective and its CE and feature terms.
    public func loss(_ x: Tensor, labels: [Int]) -> (objective: Tensor, crossEntropy: Float, feature: Float) {
        let teacherContext = ForwardContext(isTraining: false, requestedTaps: [pair.teacherTap])
        let teacherLogits = withoutGradients { teacher.logits(x.detached, context: teacherContext) }
        let target = Self.pooled(recordedTap(teacherContext, pair.teacherTap)).detached
        let studentContext = ForwardContext(isTraining: true, requestedTaps: [pair.studentTap])
        let logits = student.logits(x.detached, context: studentContext)
        let features = pair.adapter.student(Self.pooled(recordedTap(studentContext, pair.studentTap)))
        let ce = crossEntropy(logits: logits, labels: labels)
        let feature = square(features - target.flattened(axis: 1)).sum(axes: [1]).mean()
        var objective = ce + lambda * feature
        if logitWeight > 0 {
            let t = temperature
            let logP = logSoftmax(teacherLogits.detached * (1 / t), axis: 1)
            let logQ = logSoftmax(logits * (1 / t), axis: 1)
            objective = objective + (logitWeight * t * t) * klDivergence(logP: logP, logQ: logQ, axis: 1)
        }
        return (objective, ce.scalar, feature.scalar)
    }

    /// (N, C) pooled maps as (N, C, 1, 1); 2-D taps (already pooled) pass through.
    static func pooled(_ z: Tensor) -> Tensor {
        z.rank == 4
            ? globalAvgPool2d(z).reshaped([z.shape[0], z.shape[1], 1, 1]) : z.reshaped([z.shape[0], z.shape[1], 1, 1])
    }

    /// One step on a clean batch.
    @discardableResult
    public func step(
        optimizer: inout some Optimizer,
        inputs: Tensor,
        labels: [Int]
    ) -> (crossEntropy: Float, feature: Float) {
        let parameters = trainableParameters
        let result = loss(inputs, labels: labels)
        optimizer.step(parameters, gradients: gradient(of: result.objective, wrt: parameters.map(\.value)))
        return (result.crossEntropy, result.feature)
    }
}
