/// A learning rate as a pure function of the step index (0 for the first step).
///
/// Being pure, a schedule needs no state in a checkpoint: the resumed run recomputes the rate
/// from the restored step count.
public protocol LearningRateSchedule: Sendable {
    /// The learning rate for step `step` (0-based).
    func learningRate(at step: Int) -> Float
}
