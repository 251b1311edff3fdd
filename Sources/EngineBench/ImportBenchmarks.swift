import Foundation
import NN
import ONNXInterop
import TensorEngine

/// ResNet-20 exported to ONNX and imported back, against the same network built in NN: the import
/// time, and inference images/s of both, measured in alternating rounds so that drift on a shared
/// machine hits both alike. The imported graph must cost nothing at run time (target: within 5 %).
func benchmarkImportedModel(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 3)
    let model = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, width: 16, seed: 4)
    let x = Tensor.uniform([batch, 1, 28, 28], using: &rng)
    let section = "ResNet-20 imported from ONNX vs built in NN, batch \(batch)"
    let bytes: Data
    let graph: ImportedGraph
    do {
        bytes = try NNExport.exportedModel(model)
        graph = try ImportedGraph(try ONNXModel(serialized: bytes))
    } catch {
        report.notes.append("Import benchmark skipped: the export or import failed: \(error)")
        print("EngineBench: import benchmark failed: \(error)")
        return
    }
    let importTime = Timing.measure(minRuns: 10, minSeconds: 1) {
        blackHole((try? ImportedGraph(try ONNXModel(serialized: bytes)))?.parameters.count ?? 0)
    }
    func importedLogits() -> Tensor {
        withoutGradients { (try? graph.run(["input": x]))?["logits"] ?? Tensor(0) }
    }
    let difference = zip(model.logits(x).scalars, importedLogits().scalars).map { abs($0 - $1) }.max() ?? .infinity
    let validation = String(format: "max |imported − NN| = %.1e", difference)
    report.rows.append(
        BenchmarkRow(
            section: section,
            name: "import (parse + build graph, \(bytes.count / 1024) KiB)",
            shape: "-",
            medianMilliseconds: importTime.median * 1e3,
            gflops: nil,
            imagesPerSecond: nil,
            runs: importTime.runs.count,
            validation: "-"
        )
    )
    var nnRuns: [Double] = []
    var importedRuns: [Double] = []
    for _ in 0..<5 {
        nnRuns += Timing.measure(minRuns: 3, minSeconds: 1) { blackHole(withoutGradients { model.logits(x) }) }.runs
        importedRuns += Timing.measure(minRuns: 3, minSeconds: 1) { blackHole(importedLogits()) }.runs
    }
    let flops = resnet20ForwardFlopsPerImage() * Double(batch)
    for (name, runs) in [("forward, built in NN", nnRuns), ("forward, imported ONNX graph", importedRuns)] {
        let median = runs.sorted()[runs.count / 2]
        report.rows.append(
            BenchmarkRow(
                section: section,
                name: name,
                shape: "N=\(batch)",
                medianMilliseconds: median * 1e3,
                gflops: flops / median / 1e9,
                imagesPerSecond: Double(batch) / median,
                runs: runs.count,
                validation: validation
            )
        )
        print("ResNet-20 \(name): \(String(format: "%.0f", Double(batch) / median)) images/s")
    }
    let ratio = nnRuns.sorted()[nnRuns.count / 2] / importedRuns.sorted()[importedRuns.count / 2]
    report.notes.append(
        String(
            format: "Imported ONNX ResNet-20 runs at %.1f %% of the NN network's inference speed (medians of "
                + "alternating rounds; import takes %.1f ms).",
            ratio * 100,
            importTime.median * 1e3
        )
    )
    print(String(format: "imported / NN speed: %.3f; import %.1f ms", ratio, importTime.median * 1e3))
}
