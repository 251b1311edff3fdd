import TensorEngine

extension PGD {
    /// PGD's inner maximisation for adversarial training (Madry et al., arXiv 1706.06083, eq. 2.1):
    /// the same iteration as ``run(on:_:)``, but every example is attacked for every step (clean
    /// errors and fooled examples too) and the point of highest cross-entropy over all steps and
    /// restarts is returned. `fooled` and `predictions` are those at the returned points.
    public func maximizeLoss(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        try maximizeLoss(on: model, batch, loss: .crossEntropy)
    }

    /// TRADES' inner maximisation (Zhang et al., arXiv 1901.08573): the same iteration on
    /// KL(p ‖ softmax(f(x′))), p the model's probabilities at the clean inputs (N·K, row-major).
    public func maximizeDivergence(
        on model: some AttackModel,
        _ batch: AttackBatch,
        from probabilities: [Float]
    ) throws -> AttackResult {
        try maximizeLoss(on: model, batch, loss: .klDivergence(reference: probabilities))
    }

    func maximizeLoss(
        on model: some AttackModel,
        _ batch: AttackBatch,
        loss objective: AttackLoss
    ) throws
        -> AttackResult
    {
        guard steps >= 1, restarts >= 0, stepSize >= 0, stepSize.isFinite else {
            throw AttackError(.invalidConfiguration, "pgd: steps must be ≥ 1, restarts ≥ 0, the step size finite")
        }
        try threat.validate(attack: name)
        let n = batch.count
        let d = model.inputDimension
        guard batch.inputs.count == n * d else {
            throw AttackError(
                .modelOutput,
                "\(batch.inputs.count) input values for \(n) examples of \(model.inputShape)"
            )
        }
        let bounds = model.inputBounds
        let x0 = batch.inputs
        var best = x0
        var bestLoss = [Float](repeating: -.infinity, count: n)
        var bestPrediction = [Int](repeating: 0, count: n)
        var queries = [Int](repeating: 0, count: n)
        func keep(_ x: [Float], _ e: ModelEvaluation) {
            let predicted = predictedClasses(e.logits, classes: model.classCount)
            for k in 0..<n where e.losses[k] > bestLoss[k] {
                bestLoss[k] = e.losses[k]
                bestPrediction[k] = predicted[k]
                best.replaceSubrange(k * d..<(k + 1) * d, with: x[k * d..<(k + 1) * d])
            }
            for k in 0..<n { queries[k] += 1 }
        }
        let loss = { (z: Tensor) in objective.values(z, labels: batch.labels) }
        for restart in 0...restarts {
            var x = x0
            if randomStart {
                for k in 0..<n {
                    var random = RandomGeneratorBox(
                        seed: batch.seed,
                        example: batch.indices[k],
                        stream: ExampleRandom.stream(name, restart)
                    )
                    threat.randomStart(&x, around: x0, range: k * d..<(k + 1) * d, bounds: bounds, generator: &random)
                }
            }
            for _ in 0..<steps {
                let e = try model.evaluate(x, count: n, loss: loss)
                keep(x, e)
                let direction = ascentDirection(e.gradient, norm: threat.norm, width: d)
                for i in x.indices { x[i] += stepSize * direction[i] }
                for k in 0..<n { threat.project(&x, around: x0, range: k * d..<(k + 1) * d, bounds: bounds) }
            }
            keep(x, try model.evaluateLosses(x, count: n, loss: loss))
        }
        return AttackResult(
            adversarial: best,
            fooled: zip(bestPrediction, batch.labels).map { $0 != $1 },
            predictions: bestPrediction,
            queries: queries,
            perturbations: (0..<n).map {
                PerturbationSize(best[$0 * d..<($0 + 1) * d], around: x0[$0 * d..<($0 + 1) * d])
            },
            fooledBy: zip(bestPrediction, batch.labels).map { $0 != $1 ? "pgd" : "" }
        )
    }
}
