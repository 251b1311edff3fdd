import Foundation
import TensorEngine

/// One measured figure.
struct BenchmarkRow: Codable {
    var section: String
    var name: String
    var shape: String
    var medianMilliseconds: Double
    var gflops: Double?
    var imagesPerSecond: Double?
    var runs: Int
    var validation: String
}

/// The whole benchmark run, as written to docs/benchmarks/engine.json.
struct BenchmarkReport: Codable {
    var date: String
    var cpu: String
    var threads: Int
    var gitCommit: String
    /// The FMA peak measured on this run's threads (Kernels.measuredPeakGFLOPS), if measured.
    var peakGFLOPS: Double?
    var rows: [BenchmarkRow] = []
    var notes: [String] = []

    static func machine() -> (cpu: String, commit: String) {
        let cpu = "\(SIMDLevel.cpuModel), the engine's \(SIMDLevel.active.supported.rawValue) kernels"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        var commit = "unknown"
        if (try? process.run()) != nil {
            process.waitUntilExit()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (cpu, commit)
    }

    func markdown() -> String {
        var lines = [
            "# TensorEngine benchmarks",
            "",
            "Written by `make bench` (`swift run -c release EngineBench`). Medians of repeated runs after a warm-up;",
            "every timed kernel was first checked against its naive loop twin (column *checked*).",
            "",
            "- date: \(date)",
            "- CPU: \(cpu), \(threads) threads (OpenBLAS and the engine's own loops)",
            "- commit: \(gitCommit)",
        ]
        if let peakGFLOPS {
            lines.append(
                "- peak: \(String(format: "%.0f", peakGFLOPS)) GFLOP/s, measured: register-only FMAs at the engine's "
                    + "vector width on \(threads) threads, best of 5 (column *% of peak*). A convolution's GFLOP/s "
                    + "count the multiply-adds of the direct algorithm; Winograd does fewer, so its rows can pass "
                    + "100 %."
            )
        }
        lines.append("")
        var section = ""
        for row in rows {
            if row.section != section {
                section = row.section
                lines += [
                    "", "## \(section)", "",
                    "| what | shape | median ms | GFLOP/s | % of peak | images/s | checked |",
                    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
                ]
            }
            let gflops = row.gflops.map { String(format: "%.1f", $0) } ?? ""
            let ips = row.imagesPerSecond.map { String(format: "%.0f", $0) } ?? ""
            var share = ""
            if let g = row.gflops, let peakGFLOPS, peakGFLOPS > 0 {
                share = String(format: "%.0f %%", 100 * g / peakGFLOPS)
            }
            lines.append(
                "| \(row.name) | \(row.shape) | \(String(format: "%.3f", row.medianMilliseconds)) | \(gflops) | \(share) "
                    + "| \(ips) | \(row.validation) |"
            )
        }
        if !notes.isEmpty {
            lines += ["", "## Notes", ""] + notes.map { "- \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent("engine.json"), options: .atomic)
        try Data(markdown().utf8).write(to: directory.appendingPathComponent("engine.md"), options: .atomic)
    }
}
