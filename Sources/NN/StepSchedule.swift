import Foundation

/// Piecewise-constant decay at milestones (PyTorch `MultiStepLR`): the rate is
/// `base · gamma^k`, where k is the number of milestones ≤ step.
public struct StepSchedule: LearningRateSchedule {
    /// The initial rate.
    public var base: Float
    /// The steps at which the rate is multiplied by `gamma`, ascending.
    public var milestones: [Int]
    /// The factor applied at each milestone.
    public var gamma: Float

    /// Creates the schedule (milestones are sorted).
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        self.base = base
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }

    public func learningRate(at step: Int) -> Float {
        let passed = milestones.filter { $0 <= step }.count
        return Float(Double(base) * pow(Double(gamma), Double(passed)))
    }
}
