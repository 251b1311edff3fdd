import Attacks
import TensorEngine

/// A model whose every pass first asks whether the job should stop, so that a cancellation or a
/// shutdown reaches an attack within one forward pass instead of at the end of its batch (the work
/// since the last checkpoint is redone on resumption; results do not change).
struct StoppableModel<Model: AttackModel>: AttackModel {
    let model: Model
    let checkStop: () throws -> Void

    var inputShape: [Int] { model.inputShape }
    var classCount: Int { model.classCount }
    var inputBounds: ClosedRange<Float> { model.inputBounds }

    func logits(_ x: Tensor) throws -> Tensor {
        try checkStop()
        return try model.logits(x)
    }
}
