import Foundation
import Glibc

/// Writes a line to standard output, unbuffered, so that it keeps its place among the progress bar's
/// writes and the lines on standard error.
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// rkdctl's JSON output: the Codable structs in `JSON*.swift`, snake_case keys, sorted, so that scripts
/// can rely on them. Fields are added in later versions, never renamed or removed.
enum JSONOutput {
    static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Prints one value, pretty-printed (`pretty`) or on one line (for JSON Lines streams).
    static func print<Value: Encodable>(_ value: Value, pretty: Bool = true) throws {
        var data = try encoder(pretty: pretty).encode(value)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }
}

/// Whether standard output is a terminal (progress bars) or a pipe or file (plain lines).
var standardOutputIsTerminal: Bool { isatty(1) == 1 }

/// The terminal's width in columns, 80 when it cannot be told.
var terminalColumns: Int {
    var size = winsize()
    guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
}

/// Lays rows out in columns separated by two spaces; the last column is not padded.
func columns(_ rows: [[String]], indent: String = "") -> [String] {
    let count = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        return indent + cells.joined(separator: "  ")
    }
}
