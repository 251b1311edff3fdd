import Foundation

/// Wall-clock timing with warm-up and medians.
enum Timing {
    /// Runs `body` once to warm up, then at least `minRuns` times and until `minSeconds` have passed;
    /// returns the median and all times in seconds.
    static func measure(
        minRuns: Int = 5,
        minSeconds: Double = 1.0,
        _ body: () -> Void
    ) -> (median: Double, runs: [Double]) {
        body()
        var runs: [Double] = []
        let clock = ContinuousClock()
        let start = clock.now
        while runs.count < minRuns || (clock.now - start).seconds < minSeconds {
            let t0 = clock.now
            body()
            runs.append((clock.now - t0).seconds)
            if runs.count >= 200 { break }
        }
        let sorted = runs.sorted()
        let mid = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        return (median, runs)
    }
}

extension Timing {
    /// Times `bodies` in alternating rounds (each round a short `measure` of every body in turn), so
    /// that this host's minute-to-minute swings fall on all alike: every round's median per body, and
    /// the median of those.
    static func alternating(_ bodies: [() -> Void], rounds: Int = 7) -> (times: [[Double]], medians: [Double]) {
        var times = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<rounds {
            for k in bodies.indices {
                times[k].append(measure(minRuns: 3, minSeconds: 0.1, bodies[k]).median)
            }
        }
        return (times, times.map { $0.sorted()[$0.count / 2] })
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}

/// Keeps a value alive so the optimiser cannot drop the computation that made it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
