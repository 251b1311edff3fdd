import Distillation
import Jobs
import Testing

@testable import DaemonCore

/// The advice a hardening job logs when the model is paired with its teacher through adapters at the
/// default α and β (experiment 3: such a model gained little there).
@Suite("Hardening advice")
struct HardenAdviceTests {
    static func spec(
        alpha: Float = 50,
        beta: Float = 5e-3,
        distance: HardenSpec.FeatureDistance = .cosine
    )
        -> HardenSpec
    {
        HardenSpec(
            teacher: "t",
            alpha: alpha,
            beta: beta,
            featureDistance: distance,
            finiteDifferenceStep: 1e-2,
            data: DatasetSelection(name: "fashion-mnist", split: .train),
            schedule: TrainingSchedule(
                epochs: 1,
                batchSize: 32,
                learningRate: 0.01,
                momentum: 0.9,
                weightDecay: 5e-4,
                seed: 1,
                checkpointEvery: 10
            ),
            audit: nil
        )
    }

    static func pair(student: [Int], teacher: [Int]) -> FeaturePair {
        FeaturePair(
            teacherTap: "t",
            studentTap: "s",
            adapter: FeatureAdapter(name: "a", student: student, teacher: teacher, seed: 1)
        )
    }

    @Test func adaptersAtTheDefaultsGetAdvice() {
        let hint = HardenExecutor.adapterHint(Self.spec(), [Self.pair(student: [8, 14, 14], teacher: [16, 14, 14])])
        #expect(hint?.contains("--beta") == true)
        // Pooling alone (the same channels, another size) is an adapter too.
        #expect(
            HardenExecutor.adapterHint(Self.spec(), [Self.pair(student: [16, 28, 28], teacher: [16, 14, 14])]) != nil
        )
    }

    @Test func sameShapesOrOwnSettingsGetNone() {
        let same = [Self.pair(student: [16, 14, 14], teacher: [16, 14, 14])]
        #expect(HardenExecutor.adapterHint(Self.spec(), same) == nil)
        let adapted = [Self.pair(student: [8, 14, 14], teacher: [16, 14, 14])]
        #expect(HardenExecutor.adapterHint(Self.spec(beta: 0.5), adapted) == nil)
        #expect(HardenExecutor.adapterHint(Self.spec(alpha: 0), adapted) == nil)
        #expect(HardenExecutor.adapterHint(Self.spec(alpha: 1e-3, distance: .l2), adapted) == nil)
    }
}
