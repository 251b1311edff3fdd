import ArgumentParser
import DaemonAPI
import Foundation

/// The learning-rate decay of a training run (teacher train, harden): cosine unless --lr-steps is given.
struct DecayOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A step schedule instead of cosine decay: the rate is multiplied by --lr-gamma from each of these "
                + "epochs on (0-based, ascending), e.g. 15,25.",
            valueName: "epochs"
        )
    )
    var lrSteps: String?

    @Option(help: ArgumentHelp("The step schedule's factor in (0, 1) (default 0.1).", valueName: "γ"))
    var lrGamma: Float?

    func validate() throws {
        _ = try milestones()
        if let lrGamma {
            guard lrSteps != nil else {
                throw ValidationError("--lr-gamma needs --lr-steps (the epochs at which the rate falls)")
            }
            guard lrGamma > 0, lrGamma < 1 else { throw ValidationError("--lr-gamma must be in (0, 1), e.g. 0.1") }
        }
    }

    /// The milestone epochs; none for cosine decay.
    func milestones() throws -> [UInt32] {
        guard let lrSteps else { return [] }
        guard let epochs = parseNumberList(lrSteps), epochs.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--lr-steps takes epochs ≥ 1 separated by commas, e.g. 15,25")
        }
        guard zip(epochs, epochs.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ValidationError("--lr-steps must be ascending, e.g. 15,25")
        }
        return epochs
    }

    /// Sets the decay fields of `schedule`.
    func apply(to schedule: inout Rkd_V1_TrainingSchedule) {
        schedule.stepMilestones = (try? milestones()) ?? []
        if let lrGamma { schedule.stepGamma = lrGamma }
    }
}
