import Attacks
import Foundation
import NN
import TensorEngine
import Testing
import Training

struct StopTraining: Error {}

@Suite("Trainer")
struct TrainerTests {
    static let task = RobustFeatureTask(count: 96, seed: 11)

    static func trainer(adversarial: Bool, trades: Bool = false) -> Trainer {
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
        return trainer
    }

    @Test func trainingLearnsTheTask() throws {
        let model = TinyLinear(seed: 2)
        let before = model.accuracy(Self.task.tensor, labels: Self.task.labels)
        try Self.trainer(adversarial: false).run(model: model)
        #expect(model.accuracy(Self.task.tensor, labels: Self.task.labels) > max(before, 0.95))
    }

    /// Stopped after a checkpoint and resumed from its encoded bytes, the run ends with exactly the
    /// weights of an uninterrupted one: standard, PGD-AT and TRADES alike.
    @Test(arguments: [(false, false), (true, false), (false, true)])
    func aResumedRunEqualsAnUninterruptedOne(_ adversarial: Bool, _ trades: Bool) throws {
        let whole = TinyLinear(seed: 2)
        try Self.trainer(adversarial: adversarial, trades: trades).run(model: whole)

        let first = TinyLinear(seed: 2)
        var saved: Data?
        var steps = 0
        #expect(throws: StopTraining.self) {
            try Self.trainer(adversarial: adversarial, trades: trades).run(
                model: first,
                save: { saved = try $0.encoded() },
                shouldStop: {
                    steps += 1
                    if steps > 10 { throw StopTraining() }
                }
            )
        }
        let checkpoint = try Checkpoint(decoding: try #require(saved))
        #expect(checkpoint.step == 8)
        let resumed = TinyLinear(seed: 99)  // other initial weights: the checkpoint must set them all
        try Self.trainer(adversarial: adversarial, trades: trades).run(model: resumed, from: checkpoint)
        #expect(resumed.fc.parameters.map(\.value.scalars) == whole.fc.parameters.map(\.value.scalars))
    }
}
