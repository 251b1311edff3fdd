import Foundation

/// One row written by scripts/peer_bench.py.
struct PeerRow: Codable {
    var name: String
    var batch: Int
    var medianMilliseconds: Double
    var imagesPerSecond: Double
    var runs: Int
}

/// Adds peer runtimes measured just before this run on the same machine, and the PyTorch figures
/// quoted by the engine issue (not measurable here: PyTorch's wheel is not installed).
func addPeers(from path: String, into report: inout BenchmarkReport) {
    let section = "Peers on this machine (same ResNet-20, 1×28×28)"
    do {
        let rows = try JSONDecoder().decode([PeerRow].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let flopsPerImage = resnet20ForwardFlopsPerImage()
        for row in rows {
            report.rows.append(
                BenchmarkRow(
                    section: section,
                    name: row.name,
                    shape: "N=\(row.batch)",
                    medianMilliseconds: row.medianMilliseconds,
                    gflops: flopsPerImage * row.imagesPerSecond / 1e9,
                    imagesPerSecond: row.imagesPerSecond,
                    runs: row.runs,
                    validation: "measured by scripts/peer_bench.py"
                )
            )
            print("peer \(row.name): \(Int(row.imagesPerSecond)) images/s")
        }
    } catch {
        report.notes.append("Peer figures missing: could not read \(path) (\(error)).")
    }
    report.notes.append(
        "PyTorch 2.15 CPU (quoted from the engine issue, measured on this machine kind, 2 threads, batch 128; "
            + "not re-measured here): ResNet-20 forward ~1300 images/s (~1500 channels-last), train step ~370 images/s."
    )
}
