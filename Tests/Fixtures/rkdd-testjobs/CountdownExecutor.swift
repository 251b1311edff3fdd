import DaemonCore
import Foundation
import Jobs

/// TEST FIXTURE: counts `numExamples` steps of an audit spec, each a fixed piece of arithmetic (a
/// logistic-map sum) padded to about 30 ms, and writes `countdown.json` recording the sum and which
/// attempt ran which steps. It checkpoints every ``checkpointEvery`` steps and when asked to stop for a
/// shutdown, so a test can tell a resumed run (second attempt starting at step > 0) from a restarted one
/// and check that the resumed sum equals an uninterrupted run's. Not an audit: the real one arrives with
/// the audit issue.
struct CountdownExecutor: JobExecutor {
    /// Steps between periodic checkpoints.
    static let checkpointEvery = 5
    /// The least time a step takes (the arithmetic, then a pause for the rest).
    static let stepDuration: Duration = .milliseconds(30)
    /// The result file's name.
    static let resultName = "countdown.json"

    /// One run of the job: which attempt, from which step.
    struct Attempt: Codable {
        var attempt: Int
        var resumedFrom: Int
    }

    /// The checkpoint.
    struct State: Codable {
        var step: Int
        var checksum: Double
        var attempts: [Attempt]
    }

    /// The result file.
    struct Result: Codable {
        var steps: Int
        var checksum: Double
        var modelBytes: Int
        var attempts: [Attempt]
    }

    /// The arithmetic of one step: deterministic, so an interrupted run's sum equals an uninterrupted one's.
    static func work(step: Int) -> Double {
        var x = 0.1 + Double(step % 97) / 200
        var sum = 0.0
        for _ in 0..<100_000 {
            x = 3.9 * x * (1 - x)
            sum += x
        }
        return sum / 100_000
    }

    func run(_ context: JobExecutionContext) async throws {
        guard case .audit(let spec) = context.job.spec else {
            throw JobExecutionFailure(code: "wrong-kind", message: "the countdown fixture only runs audit jobs")
        }
        let total = spec.numExamples
        guard total > 0 else {
            throw JobExecutionFailure(
                code: "invalid-spec",
                message: "the countdown fixture counts num_examples steps; set num_examples to at least 1"
            )
        }
        guard let modelURL = context.modelURL,
            let modelBytes = try? FileManager.default.attributesOfItem(atPath: modelURL.path)[.size] as? Int
        else {
            throw JobExecutionFailure(code: "model-missing", message: "the job's model is not stored; upload it again")
        }
        var state =
            try context.loadCheckpoint().map { try JSONDecoder().decode(State.self, from: $0) }
            ?? State(step: 0, checksum: 0, attempts: [])
        state.attempts.append(Attempt(attempt: context.attempt, resumedFrom: state.step))
        await context.log(.info, "countdown attempt \(context.attempt) starts at step \(state.step) of \(total)")
        let clock = ContinuousClock()
        while state.step < total {
            do {
                try context.checkStop()
            } catch {
                if error.reason == .shutdown { try context.saveCheckpoint(try JSONEncoder().encode(state)) }
                throw error
            }
            let deadline = clock.now + Self.stepDuration
            state.checksum += Self.work(step: state.step)
            state.step += 1
            if state.step % Self.checkpointEvery == 0 {
                try context.saveCheckpoint(try JSONEncoder().encode(state))
            }
            try await context.reportProgress(phase: "counting", done: state.step, total: total, unit: "steps")
            if clock.now < deadline { try? await Task.sleep(until: deadline, clock: clock) }
        }
        let result = Result(steps: total, checksum: state.checksum, modelBytes: modelBytes, attempts: state.attempts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await context.writeArtifact(
            name: Self.resultName,
            mediaType: "application/json",
            try encoder.encode(result)
        )
    }
}
