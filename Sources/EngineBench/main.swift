import Foundation
import TensorEngine

// EngineBench: times the engine's kernels and whole models, after checking each fast kernel
// against its naive twin. Writes docs/benchmarks/engine.md and engine.json.
//
//   swift run -c release EngineBench [--batch N] [--output DIR] [--skip-gemm]

var arguments = CommandLine.arguments.dropFirst()
var batch = 128
var outputDirectory = "docs/benchmarks"
/// Whether `--output` named the directory: a partial run writes only there.
var outputGiven = false
var skipGEMM = false
var skipKernels = false
var skipModels = false
var peersFile: String?
/// `--only SECTION`: run that kernel section alone (A/B runs of one kernel).
let sections = ["gemm", "convolutions", "epilogues", "winograd", "register-blocks", "pooling"]
var onlySection: String?
while let flag = arguments.popFirst() {
    switch flag {
    case "--batch":
        guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
            FileHandle.standardError.write(Data("EngineBench: --batch needs a positive integer\n".utf8))
            exit(2)
        }
        batch = value
    case "--output":
        guard let value = arguments.popFirst() else {
            FileHandle.standardError.write(Data("EngineBench: --output needs a directory\n".utf8))
            exit(2)
        }
        outputDirectory = value
        outputGiven = true
    case "--skip-gemm":
        skipGEMM = true
    case "--skip-kernels":
        skipKernels = true
    case "--skip-models":
        skipModels = true
    case "--peers":
        guard let value = arguments.popFirst() else {
            FileHandle.standardError.write(
                Data("EngineBench: --peers needs a JSON file from scripts/peer_bench.py\n".utf8)
            )
            exit(2)
        }
        peersFile = value
    case "--only":
        guard let value = arguments.popFirst(), sections.contains(value) else {
            FileHandle.standardError.write(
                Data("EngineBench: --only needs one of \(sections.joined(separator: ", "))\n".utf8)
            )
            exit(2)
        }
        onlySection = value
        skipModels = true
    case "--help", "-h":
        print(
            "usage: EngineBench [--batch N (128)] [--output DIR (docs/benchmarks)] [--skip-gemm] [--skip-kernels] "
                + "[--skip-models] [--only SECTION] [--peers FILE]"
        )
        print("  --only SECTION  one kernel section alone: \(sections.joined(separator: ", "))")
        print("  --skip-kernels  only the whole-model figures (no sgemm, no convolution kernels)")
        print("  --skip-models  only the kernel figures (for A/B runs of a kernel change)")
        print("  --peers FILE  rows measured by scripts/peer_bench.py (onnxruntime) to include in the report")
        print("  A partial run (--only or a --skip flag) prints its figures and writes files only with --output.")
        exit(0)
    default:
        FileHandle.standardError.write(Data("EngineBench: unknown flag \(flag); see --help\n".utf8))
        exit(2)
    }
}

let machine = BenchmarkReport.machine()
var report = BenchmarkReport(
    date: ISO8601DateFormatter().string(from: Date()),
    cpu: machine.cpu,
    threads: EngineThreads.count,
    gitCommit: machine.commit
)
print("EngineBench: \(machine.cpu), \(EngineThreads.count) threads, batch \(batch)")
report.peakGFLOPS = Kernels.measuredPeakGFLOPS()
print(
    "FMA peak (\(SIMDLevel.active.supported), \(EngineThreads.count) threads): "
        + "\(String(format: "%.0f", report.peakGFLOPS ?? 0)) GFLOP/s"
)
/// Whether the kernel section `name` runs.
@MainActor func runs(_ name: String) -> Bool { !skipKernels && (onlySection == nil || onlySection == name) }
if runs("gemm") && !skipGEMM { benchmarkGEMM(into: &report) }
if runs("convolutions") { benchmarkConvolutions(batch: batch, into: &report) }
if runs("epilogues") { benchmarkEpilogues(batch: batch, into: &report) }
if runs("winograd") { benchmarkWinograd(batch: batch, into: &report) }
if runs("register-blocks") { benchmarkRegisterBlocks(into: &report) }
if runs("pooling") { benchmarkPooling(batch: batch, into: &report) }
if !skipModels {
    benchmarkModels(batch: batch, into: &report)
    benchmarkImportedModel(batch: batch, into: &report)
}
if let peersFile { addPeers(from: peersFile, into: &report) }
// A partial run (one section, no kernels, no models or no sgemm) would replace the whole report of
// `make bench` with a part of it: it writes only where --output says.
let partial = onlySection != nil || skipKernels || skipModels || skipGEMM
if partial && !outputGiven {
    print("EngineBench: a partial run writes no files unless --output DIR names where (docs/benchmarks kept)")
    exit(0)
}
do {
    try report.write(to: URL(fileURLWithPath: outputDirectory))
    print("EngineBench: wrote \(outputDirectory)/engine.md and engine.json")
} catch {
    FileHandle.standardError.write(Data("EngineBench: could not write \(outputDirectory): \(error)\n".utf8))
    exit(1)
}
