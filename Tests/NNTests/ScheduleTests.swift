import Foundation
import NN
import Testing

@Suite("Learning-rate schedules")
struct ScheduleTests {
    @Test func cosineWithWarmup() {
        let s = CosineSchedule(base: 0.1, totalSteps: 110, warmupSteps: 10, minimum: 0.001)
        #expect(abs(s.learningRate(at: 0) - 0.01) < 1e-7)  // 0.1·1/10
        #expect(abs(s.learningRate(at: 4) - 0.05) < 1e-7)
        #expect(abs(s.learningRate(at: 9) - 0.1) < 1e-7)
        #expect(abs(s.learningRate(at: 10) - 0.1) < 1e-7)  // cos 0
        #expect(abs(s.learningRate(at: 60) - 0.0505) < 1e-7)  // halfway: (0.1 + 0.001)/2
        let at35 = 0.001 + 0.099 * (1 + cos(Double.pi * 25 / 100)) / 2
        #expect(abs(Double(s.learningRate(at: 35)) - at35) < 1e-7)
        #expect(s.learningRate(at: 110) == 0.001)
        #expect(s.learningRate(at: 1000) == 0.001)
        let plain = CosineSchedule(base: 1, totalSteps: 4)
        #expect(plain.learningRate(at: 0) == 1)
        #expect(abs(plain.learningRate(at: 2) - 0.5) < 1e-7)
    }

    @Test func stepDecaysAtMilestones() {
        let s = StepSchedule(base: 0.1, milestones: [100, 50], gamma: 0.1)
        #expect(s.learningRate(at: 0) == 0.1)
        #expect(s.learningRate(at: 49) == 0.1)
        #expect(abs(s.learningRate(at: 50) - 0.01) < 1e-9)
        #expect(abs(s.learningRate(at: 99) - 0.01) < 1e-9)
        #expect(abs(s.learningRate(at: 100) - 0.001) < 1e-10)
        #expect(abs(s.learningRate(at: 10_000) - 0.001) < 1e-10)
    }
}
