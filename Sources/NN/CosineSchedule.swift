import Foundation

/// Linear warm-up followed by cosine annealing (Loshchilov and Hutter 2017, "SGDR",
/// arXiv:1608.03983, without restarts):
///
///     step < warmup:          base · (step + 1) / warmup
///     warmup ≤ step < total:  minimum + (base − minimum) · (1 + cos(π · (step − warmup) / (total − warmup))) / 2
///     step ≥ total:           minimum
public struct CosineSchedule: LearningRateSchedule {
    /// The peak rate, reached at the end of warm-up.
    public var base: Float
    /// The step at which the rate reaches `minimum`.
    public var totalSteps: Int
    /// The number of linear warm-up steps (0 for none).
    public var warmupSteps: Int
    /// The final rate.
    public var minimum: Float

    /// Creates the schedule.
    /// - Precondition: `0 ≤ warmupSteps < totalSteps`.
    public init(base: Float, totalSteps: Int, warmupSteps: Int = 0, minimum: Float = 0) {
        precondition(
            warmupSteps >= 0 && warmupSteps < totalSteps,
            "CosineSchedule: warm-up \(warmupSteps) must be in 0..<\(totalSteps)"
        )
        self.base = base
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.minimum = minimum
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps {
            return Float(Double(base) * Double(max(step, 0) + 1) / Double(warmupSteps))
        }
        if step >= totalSteps { return minimum }
        let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
        return Float(Double(minimum) + (Double(base) - Double(minimum)) * (1 + cos(Double.pi * progress)) / 2)
    }
}
