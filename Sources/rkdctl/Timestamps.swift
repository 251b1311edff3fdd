import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// RFC 3339 in UTC with milliseconds, e.g. "2026-11-25T10:00:03.250Z": rkdctl's JSON times.
    var rfc3339: String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Local time to the second, e.g. "2026-11-25 11:00:03": rkdctl's text times.
    var local: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// A duration for people: "45s", "3m20s", "2h05m".
func humanDuration(seconds: Double) -> String {
    let total = Int(seconds.rounded())
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
}
