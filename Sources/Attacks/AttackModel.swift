import NN
import TensorEngine

/// A differentiable classifier as the attacks see it: logits for a batch of inputs, recorded on the
/// tape when the input is tracked, so that the input gradient of any loss on the logits can be taken.
/// Attacks never ask for weight gradients.
///
/// Inputs are (N, C, H, W) with `inputShape == [C, H, W]` and values in `inputBounds`; any
/// preprocessing (normalisation) happens inside `logits`, so attacks work in the caller's pixel space.
/// Rows must be independent (an evaluation-mode pass: no batch statistics, no dropout), which is what
/// makes per-example results independent of the batch they ran in.
public protocol AttackModel {
    /// The shape of one input, (C, H, W).
    var inputShape: [Int] { get }
    /// The number of classes.
    var classCount: Int { get }
    /// The range input values live in; adversarial examples are clipped to it.
    var inputBounds: ClosedRange<Float> { get }
    /// The logits (N, classCount) of x (N, C, H, W). When x is tracked the pass is recorded.
    /// - Throws: whatever the model's run throws (an imported graph may fail at run time).
    func logits(_ x: Tensor) throws -> Tensor
}

/// An NN ``Classifier`` in evaluation mode as an ``AttackModel``.
public struct ClassifierAttackModel<Model: Classifier>: AttackModel {
    /// The wrapped classifier.
    public let model: Model

    /// Wraps `model`; its passes run in evaluation mode.
    public init(_ model: Model) { self.model = model }

    public var inputShape: [Int] { model.inputShape }
    public var classCount: Int { model.classCount }
    public var inputBounds: ClosedRange<Float> { model.inputBounds }

    public func logits(_ x: Tensor) -> Tensor {
        model.logits(x, context: ForwardContext(isTraining: false))
    }
}

/// One evaluation of a model on a flat batch: logits, per-example losses and the input gradient.
struct ModelEvaluation {
    /// (N·classes), row-major.
    var logits: [Float]
    /// One loss per example (empty when no loss was asked for).
    var losses: [Float]
    /// ∂(Σ losses)/∂x, (N·D); empty when no gradient was asked for.
    var gradient: [Float]
}

extension AttackModel {
    /// The number of values in one input.
    var inputDimension: Int { inputShape.reduce(1, *) }

    /// Logits of a flat batch of `count` inputs, with nothing recorded.
    func evaluate(_ x: [Float], count: Int) throws -> ModelEvaluation {
        let z = try withoutGradients {
            try checkedLogits(Tensor(shape: [count] + inputShape, scalars: x), count: count)
        }
        return ModelEvaluation(logits: z.scalars, losses: [], gradient: [])
    }

    /// Logits and per-example losses of a flat batch, with nothing recorded: for the last iterate of
    /// an attack, whose gradient nothing uses (a forward pass instead of a forward and a backward).
    /// The same values as `evaluate(_:count:loss:)`'s, which runs the same forward kernels.
    func evaluateLosses(_ x: [Float], count: Int, loss: (Tensor) -> Tensor) throws -> ModelEvaluation {
        try withoutGradients {
            let z = try checkedLogits(Tensor(shape: [count] + inputShape, scalars: x), count: count)
            return ModelEvaluation(logits: z.scalars, losses: loss(z).scalars, gradient: [])
        }
    }

    /// Logits, per-example losses and the input gradient of their sum, for a flat batch.
    /// `loss` maps the logits (N, classes) to one loss per example (N).
    func evaluate(_ x: [Float], count: Int, loss: (Tensor) -> Tensor) throws -> ModelEvaluation {
        let input = Tensor(shape: [count] + inputShape, scalars: x).tracked()
        let z = try checkedLogits(input, count: count)
        let perExample = loss(z)
        let g = gradient(of: perExample.sum(), wrt: [input])[0]
        return ModelEvaluation(logits: z.detached.scalars, losses: perExample.detached.scalars, gradient: g.scalars)
    }

    private func checkedLogits(_ x: Tensor, count: Int) throws -> Tensor {
        let z = try logits(x)
        guard z.shape == [count, classCount] else {
            throw AttackError(
                .modelOutput,
                "the model gave logits of shape \(z.shape) for \(count) inputs; "
                    + "attacks need (batch, \(classCount))"
            )
        }
        return z
    }
}
