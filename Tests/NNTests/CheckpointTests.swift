import Foundation
import NN
import TensorEngine
import Testing

/// A scratch directory removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-nn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A small run with batch norm (buffers), a data-order generator and an optimizer: everything a
/// checkpoint must capture for an exact resume.
struct TinyRun<O: Optimizer> {
    let model: ResNet20
    var optimizer: O
    var rng: RandomGenerator
    let data: SyntheticTemplates

    init(optimizer: O, modelSeed: UInt64, rngSeed: UInt64) {
        model = ResNet20(inputChannels: 1, imageSize: 8, classes: 4, width: 4, seed: modelSeed)
        self.optimizer = optimizer
        rng = RandomGenerator(seed: rngSeed)
        data = SyntheticTemplates(count: 48, classes: 4, size: 8, noise: 0.3, seed: 41, sampleSeed: 42)
    }

    /// One step on a batch of 12 drawn from `rng`, with a cosine learning rate.
    mutating func step() -> Float {
        let indices = Array(rng.permutation(data.labels.count).prefix(12))
        let (x, y) = data.batch(indices)
        optimizer.learningRate = CosineSchedule(base: 0.05, totalSteps: 20, warmupSteps: 2).learningRate(
            at: optimizer.stepCount
        )
        return trainStep(model: model, optimizer: &optimizer, inputs: x, labels: y)
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(
            model: model,
            optimizer: optimizer.state,
            rng: rng,
            step: optimizer.stepCount,
            epoch: 0,
            metadata: ["recipe": "tiny", "seed": "1"]
        )
    }

    mutating func restore(_ checkpoint: Checkpoint) throws {
        try checkpoint.restore(into: model)
        if let state = checkpoint.optimizer { try optimizer.restore(state, parameters: model.parameters) }
        if let saved = checkpoint.rng { rng = saved }
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    static func bits(_ model: any ParameterContainer) -> [[UInt32]] {
        model.parameters.map { $0.value.scalars.map(\.bitPattern) }
            + model.buffers.map { $0.value.scalars.map(\.bitPattern) }
    }

    static func resumeIsExact(_ makeOptimizer: () -> some Optimizer) throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("run.rkdckpt")
        var run = TinyRun(optimizer: makeOptimizer(), modelSeed: 1, rngSeed: 2)
        for _ in 0..<3 { _ = run.step() }
        try run.checkpoint().write(to: file)
        let expectedLoss = run.step()
        let expectedBits = bits(run.model)

        var resumed = TinyRun(optimizer: makeOptimizer(), modelSeed: 99, rngSeed: 98)
        let loaded = try Checkpoint.read(from: file)
        #expect(loaded.step == 3 && loaded.metadata["recipe"] == "tiny")
        try resumed.restore(loaded)
        let loss = resumed.step()
        #expect(loss.bitPattern == expectedLoss.bitPattern, "resumed loss \(loss) vs \(expectedLoss)")
        #expect(bits(resumed.model) == expectedBits)
        #expect(resumed.rng == run.rng)
        #expect(resumed.optimizer.state == run.optimizer.state)
        // Only the checkpoint itself is left in the directory: no temporary files.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["run.rkdckpt"])
    }

    @Test func resumeWithSGDIsBitExact() throws {
        try Self.resumeIsExact { SGD(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4) }
    }

    @Test func resumeWithAdamIsBitExact() throws {
        try Self.resumeIsExact { Adam(learningRate: 0.01, weightDecay: 1e-4) }
    }

    @Test func encodingRoundTripsEveryField() throws {
        var run = TinyRun(optimizer: Adam(), modelSeed: 5, rngSeed: 6)
        _ = run.step()
        _ = run.rng.nextNormal()  // leaves a spare normal in the generator's state
        var original = run.checkpoint()
        original.epoch = 7
        original.metadata["note"] = "ünïcödé, \"quoted\""
        let decoded = try Checkpoint(decoding: try original.encoded())
        #expect(decoded.step == original.step && decoded.epoch == 7 && decoded.metadata == original.metadata)
        #expect(decoded.rng == original.rng)
        #expect(decoded.optimizer == original.optimizer)
        #expect(Set(decoded.parameters.keys) == Set(original.parameters.keys))
        for (name, t) in original.parameters {
            #expect(decoded.parameters[name]?.shape == t.shape)
            #expect(decoded.parameters[name]?.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern))
        }
        for (name, t) in original.buffers {
            #expect(decoded.buffers[name]?.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern))
        }
        #expect(try decoded.encoded() == original.encoded())
    }

    static func expectFailure(_ bytes: [UInt8], code: CheckpointError.Code, _ comment: Comment) {
        do {
            _ = try Checkpoint(decoding: Data(bytes))
            Issue.record("decoding succeeded; expected \(code): \(comment)")
        } catch let error as CheckpointError {
            #expect(error.code == code, "\(comment): \(error)")
            #expect(!error.message.isEmpty)
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test func truncatedFilesThrow() throws {
        let bytes = [UInt8](
            try TinyRun(optimizer: SGD(learningRate: 0.1, momentum: 0.9), modelSeed: 1, rngSeed: 1)
                .checkpoint().encoded()
        )
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16
        Self.expectFailure([], code: .truncated, "empty file")
        Self.expectFailure(Array(bytes.prefix(5)), code: .truncated, "inside the magic")
        Self.expectFailure(Array(bytes.prefix(7)), code: .truncated, "just before the version digit")
        Self.expectFailure(Array(bytes.prefix(12)), code: .truncated, "inside the length")
        Self.expectFailure(Array(bytes.prefix(20 + headerLength / 2)), code: .truncated, "inside the header")
        Self.expectFailure(Array(bytes.prefix(20 + headerLength + 10)), code: .truncated, "inside the tensors")
        Self.expectFailure(Array(bytes.dropLast()), code: .truncated, "one byte short")
        // Every cut point fails cleanly (stride keeps the test quick).
        for cut in stride(from: 0, to: bytes.count, by: 97) {
            #expect(throws: CheckpointError.self) { try Checkpoint(decoding: Data(bytes.prefix(cut))) }
        }
    }

    @Test func corruptedFilesThrow() throws {
        let bytes = [UInt8](try TinyRun(optimizer: Adam(), modelSeed: 1, rngSeed: 1).checkpoint().encoded())
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16
        var wrongMagic = bytes
        wrongMagic[0] = UInt8(ascii: "X")
        Self.expectFailure(wrongMagic, code: .notACheckpoint, "wrong magic")
        var newerVersion = bytes
        newerVersion[7] = UInt8(ascii: "2")
        Self.expectFailure(newerVersion, code: .unsupportedVersion, "RKDCKPT2")
        var header = bytes
        header[20 + headerLength / 2] ^= 0x01
        Self.expectFailure(header, code: .corrupted, "a flipped header bit")
        var payload = bytes
        payload[bytes.count - 3] ^= 0x80
        Self.expectFailure(payload, code: .corrupted, "a flipped payload bit")
        var hugeLength = bytes
        hugeLength[15] = 0x7F
        Self.expectFailure(hugeLength, code: .corrupted, "an absurd header length")
        Self.expectFailure(bytes + [0], code: .corrupted, "a trailing byte")
        Self.expectFailure(Array("not a checkpoint at all, just text".utf8), code: .notACheckpoint, "text")
    }

    @Test func readReportsMissingAndDamagedFiles() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("c.rkdckpt")
        #expect(throws: CheckpointError.self) { try Checkpoint.read(from: file) }
        try TinyRun(optimizer: SGD(learningRate: 0.1), modelSeed: 1, rngSeed: 1).checkpoint().write(to: file)
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        do {
            _ = try Checkpoint.read(from: file)
            Issue.record("a half-written file was read")
        } catch let error as CheckpointError {
            #expect(error.code == .truncated)
            #expect(error.message.contains(file.path))
        }
    }

    @Test func restoringIntoAnotherArchitectureThrowsAndChangesNothing() throws {
        let source = ResNet20(inputChannels: 1, imageSize: 8, classes: 4, width: 4, seed: 1)
        let checkpoint = Checkpoint(model: source)
        let wider = ResNet20(inputChannels: 1, imageSize: 8, classes: 4, width: 8, seed: 2)
        let before = Self.bits(wider)
        do {
            try checkpoint.restore(into: wider)
            Issue.record("restored width 4 into width 8")
        } catch let error as CheckpointError {
            #expect(error.code == .modelMismatch)
            #expect(error.message.contains("conv1.weight"))
        }
        #expect(Self.bits(wider) == before)
        let other = SmallCNN(inputChannels: 1, height: 8, width: 8, classes: 4, seed: 3)
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: other) }
        var sgd = SGD(learningRate: 0.1)
        var adam = Adam()
        let p = source.parameters
        adam.step(p, gradients: p.map { Tensor(repeating: 0.1, shape: $0.shape) })
        #expect(throws: CheckpointError.self) { try sgd.restore(adam.state, parameters: p) }
        #expect(throws: CheckpointError.self) { try adam.restore(adam.state, parameters: wider.parameters) }
    }
}
