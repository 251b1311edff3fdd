import DaemonAPI
import SwiftProtobuf

/// The one-line progress bar `jobs watch` redraws on a terminal:
/// `[##########··········]  50% pgd eps=0.1 500/1000 examples, 41.0 examples/s, ETA 12s`.
enum ProgressBar {
    static let barWidth = 24

    static func line(_ progress: Rkd_V1_Progress, columns: Int) -> String {
        var text: String
        if progress.total > 0 {
            let fraction = min(1, Double(progress.done) / Double(progress.total))
            let filled = Int(fraction * Double(barWidth))
            let bar = String(repeating: "#", count: filled) + String(repeating: "·", count: barWidth - filled)
            let percent = String(Int(fraction * 100))
            text = "[\(bar)] " + String(repeating: " ", count: 3 - percent.count) + "\(percent)% "
        } else {
            text = "[" + String(repeating: "·", count: barWidth) + "]      "
        }
        text += JobText.progressDetail(progress)
        // Leave the last column free so the terminal does not wrap.
        return text.count < columns ? text : String(text.prefix(max(0, columns - 2))) + "…"
    }
}
