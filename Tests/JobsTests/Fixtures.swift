import Foundation

@testable import Jobs

/// Specs and directories shared by the Jobs tests.
enum Fixtures {
    static func audit(epsilons: [Float] = [0.1], seed: UInt64 = 7) -> AuditSpec {
        AuditSpec(
            attacks: [AttackSettings(.pgd, steps: 10), AttackSettings(.fgsm)],
            norm: .linf,
            epsilons: epsilons,
            data: DatasetSelection(name: "fashion-mnist", split: .test),
            numExamples: 100,
            batchSize: 50,
            seed: seed,
            failUnder: 0.4
        )
    }

    static func schedule() -> TrainingSchedule {
        TrainingSchedule(
            epochs: 2,
            batchSize: 64,
            learningRate: 0.01,
            momentum: 0.9,
            weightDecay: 5e-4,
            seed: 1,
            checkpointEvery: 100
        )
    }

    static func harden() -> HardenSpec {
        HardenSpec(
            teacher: "fmnist-resnet20-at",
            finiteDifferenceStep: 1e-2,
            data: DatasetSelection(name: "fashion-mnist", split: .train, half: .second),
            schedule: schedule(),
            audit: audit()
        )
    }

    static func teacher(name: String = "fmnist-resnet20-at") -> TeacherTrainingSpec {
        TeacherTrainingSpec(
            name: name,
            data: DatasetSelection(name: "fashion-mnist", split: .train, classes: [0, 1, 2, 3, 4]),
            adversarial: AdversarialTraining(norm: .l2, epsilon: 0.5, steps: 7),
            schedule: schedule(),
            evalExamples: 500
        )
    }

    static func submission(owner: UInt32 = 1000, requestID: String? = nil, seed: UInt64 = 7) -> JobSubmission {
        JobSubmission(
            ownerUID: owner,
            spec: .audit(audit(seed: seed)),
            modelDigest: String(repeating: "ab", count: 32),
            requestID: requestID
        )
    }
}

/// A fresh directory under the system's temporary directory, deleted by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-jobs-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
