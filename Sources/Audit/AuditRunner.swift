import Attacks
import Foundation
import TensorEngine

/// Runs an audit plan over examples, batch by batch (``AuditPlan/batchSize(inCell:)``), resumably:
/// after each batch it hands the state
/// to `checkpoint`, and a state given back to ``run(state:)`` continues where it stopped. Because every
/// attack draws its randomness from the seed and the example's index, a resumed audit ends with the
/// same outcomes as an uninterrupted one.
public struct AuditRunner<Model: AttackModel> {
    /// The model under audit.
    public let model: Model
    /// The examples.
    public let examples: AuditExamples
    /// The plan.
    public let plan: AuditPlan

    /// Adversarial examples kept per cell for the report's pictures.
    public static var galleryPerCell: Int { 3 }

    /// Called after each batch with the state to persist.
    public var checkpoint: (AuditState) async throws -> Void = { _ in }
    /// Called with (cell index, examples done in it, examples in all) after each batch.
    public var progress: (Int, Int, Int) async throws -> Void = { _, _, _ in }
    /// Called between batches; throws to stop (the state of the last batch is already checkpointed).
    public var checkStop: () throws -> Void = {}

    /// Creates a runner.
    public init(model: Model, examples: AuditExamples, plan: AuditPlan) {
        self.model = model
        self.examples = examples
        self.plan = plan
    }

    /// Runs what is left of the audit, starting from `state`.
    public func run(state initial: AuditState) async throws -> AuditState {
        var state = initial
        let cells = plan.allCells
        guard state.outcomes.count == cells.count else {
            throw AttackError(
                .invalidConfiguration,
                "the checkpoint has \(state.outcomes.count) cells but the plan \(cells.count)"
            )
        }
        let n = examples.count
        let d = examples.exampleShape.reduce(1, *)
        if state.cleanPredictions == nil {
            try cleanPass(&state, dimension: d)
            try await checkpoint(state)
        }
        let clean = state.cleanPredictions ?? []
        for (c, attack) in cells.enumerated() {
            let limit = plan.examples(inCell: c, of: n)
            while state.outcomes[c].count < limit {
                try checkStop()
                let start = state.outcomes[c].count
                let end = min(start + plan.batchSize(inCell: c), limit)
                let began = Date()
                // Only examples classified correctly are attacked; clean errors are not robust.
                let correct = (start..<end).filter { clean[$0] == examples.labels[$0] }
                var result: AttackResult?
                if !correct.isEmpty {
                    let batch = AttackBatch(
                        inputs: rows(correct, width: d),
                        labels: correct.map { examples.labels[$0] },
                        indices: correct.map { examples.indices[$0] },
                        seed: plan.seed
                    )
                    result = try attack.run(on: model, batch)
                }
                var k = 0
                for i in start..<end {
                    if clean[i] != examples.labels[i] {
                        state.outcomes[c].append(
                            ExampleOutcome(fooled: true, prediction: clean[i], queries: 0, linf: 0, l2: 0, by: "clean")
                        )
                    } else if let result {
                        if result.fooled[k] && state.gallery[c].count < Self.galleryPerCell {
                            state.gallery[c].append(
                                GalleryImage(
                                    position: i,
                                    index: examples.indices[i],
                                    label: examples.labels[i],
                                    prediction: result.predictions[k],
                                    shape: examples.exampleShape,
                                    clean: Array(examples.inputs[i * d..<(i + 1) * d]),
                                    adversarial: Array(result.adversarial[k * d..<(k + 1) * d])
                                )
                            )
                        }
                        state.outcomes[c].append(
                            ExampleOutcome(
                                fooled: result.fooled[k],
                                prediction: result.predictions[k],
                                queries: result.queries[k],
                                linf: result.perturbations[k].linf,
                                l2: result.perturbations[k].l2,
                                by: result.fooledBy[k]
                            )
                        )
                        k += 1
                    }
                }
                state.seconds[c] += Date().timeIntervalSince(began)
                try await checkpoint(state)
                try await progress(c, end, limit)
            }
        }
        return state
    }

    /// Clean predictions, a determinism check (two passes, bit-identical logits) and the share of
    /// zero or non-finite input gradients.
    private func cleanPass(_ state: inout AuditState, dimension d: Int) throws {
        var predictions: [Int] = []
        var deterministic = true
        var batchDependent = false
        var degenerate = 0
        var start = 0
        while start < examples.count {
            try checkStop()
            let end = min(start + plan.batchSize, examples.count)
            let x = rows(Array(start..<end), width: d)
            let count = end - start
            let first = try withoutGradients { try model.logits(Tensor(shape: [count] + model.inputShape, scalars: x)) }
            let second = try withoutGradients {
                try model.logits(Tensor(shape: [count] + model.inputShape, scalars: x))
            }
            if first.scalars != second.scalars { deterministic = false }
            let k = model.classCount
            if start == 0 && count > 1 {
                let alone = try withoutGradients {
                    try model.logits(Tensor(shape: [1] + model.inputShape, scalars: Array(x[0..<d])))
                }
                for c in 0..<k where abs(alone.scalars[c] - first.scalars[c]) > 1e-3 * max(1, abs(first.scalars[c])) {
                    batchDependent = true
                }
            }
            predictions += (0..<count).map { i in
                var best = 0
                for c in 1..<k where first.scalars[i * k + c] > first.scalars[i * k + best] { best = c }
                return best
            }
            let tracked = Tensor(shape: [count] + model.inputShape, scalars: x).tracked()
            let labels = Array(examples.labels[start..<end])
            let loss = crossEntropy(logits: try model.logits(tracked), labels: labels) * Float(count)
            let g = gradient(of: loss, wrt: [tracked])[0].scalars
            for i in 0..<count {
                let slice = g[i * d..<(i + 1) * d]
                if slice.contains(where: { !$0.isFinite }) || slice.allSatisfy({ $0 == 0 }) { degenerate += 1 }
            }
            start = end
        }
        state.cleanPredictions = predictions
        state.deterministic = deterministic
        state.batchDependent = batchDependent
        state.degenerateGradients = degenerate
    }

    private func rows(_ positions: [Int], width d: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(positions.count * d)
        for p in positions { out.append(contentsOf: examples.inputs[p * d..<(p + 1) * d]) }
        return out
    }
}
