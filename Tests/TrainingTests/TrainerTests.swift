import Attacks
import Foundation
import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import Training

struct StopTraining: Error {}

@Suite("Trainer")
struct TrainerTests {
    static let task = RobustFeatureTask(count: 96, seed: 11)

    static func trainer(adversarial: Bool, trades: Bool = false, augmented: Bool = false) -> Trainer {
        var trainer = Trainer(
            inputs: task.inputs,
            labels: task.labels,
            exampleShape: [1, 4, 4],
            epochs: 3,
            batchSize: 16,
            learningRate: 0.3,
            seed: 5,
            adversarial: adversarial ? AdversarialTraining(.linf, epsilon: 0.1, steps: 3) : nil
        )
        trainer.checkpointEvery = 4
        if trades { trainer.trades = TRADES(.linf, epsilon: 0.1, steps: 3, beta: 6) }
        if augmented { trainer.augmentation = Augmentation(padding: 1, flip: true) }
        return trainer
    }

    @Test func trainingLearnsTheTask() async throws {
        let model = TinyLinear(seed: 2)
        let before = model.accuracy(Self.task.tensor, labels: Self.task.labels)
        var epochs: [Int] = []
        var steps: [Int] = []
        try await Self.trainer(adversarial: false).run(
            model: model,
            onStep: { steps.append($0.step) },
            onEpoch: { epoch, loss in
                epochs.append(epoch)
                #expect(loss.isFinite && loss > 0)
            }
        )
        #expect(model.accuracy(Self.task.tensor, labels: Self.task.labels) > max(before, 0.95))
        #expect(epochs == [0, 1, 2])
        #expect(steps == Array(1...18), "96 examples in batches of 16, 3 epochs")
    }

    /// Stopped after a checkpoint and resumed from its encoded bytes, the run ends with exactly the
    /// weights of an uninterrupted one: standard, PGD-AT and TRADES alike.
    /// The stop saves the steps done since the last periodic checkpoint (step 10, not 8), and the epoch's
    /// running loss travels in the checkpoint: the last epoch's mean loss is the same too.
    @Test(arguments: [(false, false, false), (true, false, false), (false, true, false), (false, false, true)])
    func aResumedRunEqualsAnUninterruptedOne(_ adversarial: Bool, _ trades: Bool, _ augmented: Bool) async throws {
        let trainer = Self.trainer(adversarial: adversarial, trades: trades, augmented: augmented)
        let whole = TinyLinear(seed: 2)
        let wholeLoss = try await trainer.run(model: whole)

        // Stopped before step 11, and (adversarial steps) inside step 11's inner maximisation, at its
        // second pass: both save step 10, and both resume to the uninterrupted run's weights.
        for checksIntoStep in adversarial || trades ? [1, 3] : [1] {
            let first = TinyLinear(seed: 2)
            let saved = Saved()
            let counter = Saved()
            await #expect(throws: StopTraining.self) {
                try await trainer.run(
                    model: first,
                    save: { saved.data = try $0.encoded() },
                    shouldStop: {
                        guard counter.steps >= 10 else { return }
                        counter.checks += 1
                        if counter.checks >= checksIntoStep { throw StopTraining() }
                    },
                    onStep: { counter.steps = $0.step }
                )
            }
            let checkpoint = try Checkpoint(decoding: try #require(saved.data))
            #expect(checkpoint.step == 10)
            let resumed = TinyLinear(seed: 99)  // other initial weights: the checkpoint must set them all
            let resumedLoss = try await trainer.run(model: resumed, from: checkpoint)
            #expect(resumed.fc.parameters.map(\.value.scalars) == whole.fc.parameters.map(\.value.scalars))
            #expect(resumedLoss == wholeLoss)
        }
    }

    /// A step schedule holds the rate until a milestone epoch's first step and multiplies it by γ there
    /// (96 examples in batches of 16: 6 steps per epoch, milestones at epochs 1 and 2); a run stopped
    /// between milestones resumes to the uninterrupted weights, because the rate is a function of the
    /// restored step.
    @Test func stepDecayLowersTheRateAtMilestoneEpochsAndResumes() async throws {
        var trainer = Self.trainer(adversarial: false)
        trainer.decay = .step(milestoneEpochs: [1, 2], gamma: 0.5)
        var rates: [Float] = []
        let whole = TinyLinear(seed: 2)
        try await trainer.run(model: whole, onStep: { rates.append($0.learningRate) })
        #expect(
            rates == Array(repeating: 0.3, count: 6) + Array(repeating: 0.15, count: 6)
                + Array(repeating: 0.075, count: 6)
        )

        let first = TinyLinear(seed: 2)
        let saved = Saved()
        let counter = Saved()
        await #expect(throws: StopTraining.self) {
            try await trainer.run(
                model: first,
                save: { saved.data = try $0.encoded() },
                shouldStop: { if counter.steps >= 9 { throw StopTraining() } },
                onStep: { counter.steps = $0.step }
            )
        }
        let resumed = TinyLinear(seed: 99)
        try await trainer.run(model: resumed, from: try Checkpoint(decoding: try #require(saved.data)))
        #expect(resumed.fc.parameters.map(\.value.scalars) == whole.fc.parameters.map(\.value.scalars))
        // And the cosine default differs from it: the schedule is really used.
        let cosine = TinyLinear(seed: 2)
        try await Self.trainer(adversarial: false).run(model: cosine)
        #expect(cosine.fc.parameters.map(\.value.scalars) != whole.fc.parameters.map(\.value.scalars))
    }

    /// Augmentation: padding 0 with flips mirrors rows exactly; a crop keeps values from the example or
    /// zero padding; the same (seed, epoch, index) gives the same result, another epoch another one.
    @Test func augmentationIsSeededAndKeepsTheImage() {
        let shape = [2, 3, 4]
        let example = ArraySlice((0..<24).map { Float($0 + 1) })
        var mirrored: [Float] = []
        var same: [Float] = []
        let flipOnly = Augmentation(padding: 0, flip: true)
        // Find an index whose coin says "flip" and check the mirror image.
        var flippedIndex: Int?
        for index in 0..<16 {
            var out: [Float] = []
            flipOnly.apply(example, shape: shape, seed: 1, epoch: 0, index: index, into: &out)
            if out != Array(example) {
                flippedIndex = index
                mirrored = out
                break
            }
        }
        #expect(flippedIndex != nil, "16 coins all said no flip")
        for c in 0..<2 {
            for y in 0..<3 {
                for x in 0..<4 {
                    #expect(mirrored[(c * 3 + y) * 4 + x] == example[(c * 3 + y) * 4 + (3 - x)])
                }
            }
        }
        let crop = Augmentation(padding: 2, flip: false)
        var outputs: Set<[Float]> = []
        for epoch in 0..<8 {
            var out: [Float] = []
            crop.apply(example, shape: shape, seed: 3, epoch: epoch, index: 5, into: &out)
            #expect(out.count == 24)
            #expect(out.allSatisfy { $0 == 0 || example.contains($0) })
            outputs.insert(out)
        }
        crop.apply(example, shape: shape, seed: 3, epoch: 0, index: 5, into: &same)
        var again: [Float] = []
        crop.apply(example, shape: shape, seed: 3, epoch: 0, index: 5, into: &again)
        #expect(same == again)
        #expect(outputs.count > 1, "eight epochs, one crop")
    }
}

/// State the trainer's escaping callbacks share with a test.
final class Saved: @unchecked Sendable {
    var data: Data?
    var steps = 0
    var checks = 0
}
