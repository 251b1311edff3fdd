import NN
import TensorEngine
import Testing

@Suite("Learning")
struct LearningTests {
    /// A real end-to-end check of layers, autodiff and optimizer: a SmallCNN fits a 10-class
    /// template task (400 images 1×16×16, noise σ = 0.35) with Adam, batch 32, 6 epochs. (A sweep
    /// over six seeds at lr 1e-3 and 3e-3 reached ≥ 99.75 % every time.)
    @Test func smallCNNLearnsSyntheticTemplates() {
        let data = SyntheticTemplates(count: 400, classes: 10, size: 16, noise: 0.35, seed: 21, sampleSeed: 22)
        let model = SmallCNN(inputChannels: 1, height: 16, width: 16, classes: 10, seed: 23)
        var optimizer = Adam(learningRate: 2e-3)
        var rng = RandomGenerator(seed: 24)
        let before = model.accuracy(data.images, labels: data.labels)
        var losses: [Float] = []
        for _ in 0..<6 {
            let order = rng.permutation(400)
            for start in stride(from: 0, to: 400, by: 32) {
                let (x, y) = data.batch(Array(order[start..<min(start + 32, 400)]))
                losses.append(trainStep(model: model, optimizer: &optimizer, inputs: x, labels: y))
            }
        }
        let accuracy = model.accuracy(data.images, labels: data.labels)
        let heldOut = SyntheticTemplates(count: 200, classes: 10, size: 16, noise: 0.35, seed: 21, sampleSeed: 25)
        let heldOutAccuracy = model.accuracy(heldOut.images, labels: heldOut.labels)
        #expect(before < 0.3, "an untrained model should be near chance, got \(before)")
        #expect(accuracy > 0.95, "train accuracy \(accuracy); losses \(losses)")
        #expect(heldOutAccuracy > 0.9, "held-out accuracy \(heldOutAccuracy)")
        #expect((losses.last ?? .infinity) < losses[0] / 4, "loss went \(losses.first ?? 0) → \(losses.last ?? 0)")
    }
}
