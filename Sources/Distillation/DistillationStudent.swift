import NN
import TensorEngine

/// A student and the adapters trained with it, as one model for the trainer: its parameters are the
/// student's and the adapters' (so optimizer state and checkpoints hold both), its buffers the
/// student's, its logits the student's. Export the student alone: the adapters are thrown away.
public final class DistillationStudent: Classifier {
    public let student: any Classifier
    public let adapters: [FeatureAdapter]

    public init(_ student: any Classifier, adapters: [FeatureAdapter]) {
        self.student = student
        self.adapters = adapters
    }

    public var parameters: [Parameter] { student.parameters + adapters.flatMap(\.parameters) }
    public var buffers: [Buffer] { student.buffers }
    public var inputShape: [Int] { student.inputShape }
    public var classCount: Int { student.classCount }
    public var inputBounds: ClosedRange<Float> { student.inputBounds }
    public var featureTapNames: [String] { student.featureTapNames }

    public func logits(_ x: Tensor, context: ForwardContext) -> Tensor { student.logits(x, context: context) }
    public func recordTaps(_ x: Tensor, context: ForwardContext) { student.recordTaps(x, context: context) }
}
