import Training

extension JobExecutionFailure {
    /// A training run whose loss stopped being a finite number: the weights are lost to infinities
    /// or NaNs from this step on, so the job ends here instead of training on (and failing only when
    /// the weights cannot be exported). `terms` names the loss terms' values where the job knows
    /// them; `hint` says which settings to lower.
    static func trainingDiverged(
        _ report: Trainer.StepReport,
        terms: String? = nil,
        hint: String
    )
        -> JobExecutionFailure
    {
        JobExecutionFailure(
            code: "training-diverged",
            message: "training diverged at step \(report.step) of \(report.totalSteps) (epoch \(report.epoch + 1), "
                + "learning rate \(report.learningRate)): the loss is \(report.loss)"
                + (terms.map { " (\($0))" } ?? "") + ". Lower \(hint) and submit the job again"
        )
    }
}
