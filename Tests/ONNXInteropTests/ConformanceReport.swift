import Foundation

@testable import ONNXInterop

/// Renders docs/onnx-conformance.md from a conformance run.
enum ConformanceReport {
    static func markdown(_ cases: [ConformanceRunner.Case]) -> String {
        struct Row {
            var run = 0
            var passed = 0
            var failed = 0
            var unsupported = 0
            var reasons: [String: Int] = [:]
        }
        var rows: [String: Row] = [:]
        for c in cases {
            // A case counts under its operators (one entry per distinct operator of its graph).
            for op in Set(c.operators.isEmpty ? ["(unreadable)"] : c.operators) {
                var row = rows[op] ?? Row()
                switch c.outcome {
                case .passed:
                    row.run += 1
                    row.passed += 1
                case .failed:
                    row.run += 1
                    row.failed += 1
                case .unsupported(let why):
                    row.unsupported += 1
                    row.reasons[summary(why), default: 0] += 1
                }
                rows[op] = row
            }
        }
        let passed = cases.filter { $0.outcome == .passed }.count
        let failed = cases.filter { if case .failed = $0.outcome { true } else { false } }.count
        var lines = [
            "# ONNX conformance",
            "",
            "ONNX's own backend test cases from Debian's `libonnx-testdata` (ONNX 1.12: `data/node`,",
            "`data/pytorch-converted`, `data/pytorch-operator`, `data/simple`), run by",
            "`Tests/ONNXInteropTests/ConformanceTests.swift` in `make test`: every case whose operators,",
            "attributes and data types rkd supports is imported, run, and compared with the shipped outputs",
            "(rtol = atol = 1e-4). Regenerate this file with `make conformance-report`.",
            "",
            "**Totals: \(passed) passed, \(failed) failed, \(cases.count - passed - failed) unsupported** (of \(cases.count) cases).",
            "",
            "A case counts once under each distinct operator in its graph. *Unsupported* means the import or",
            "the run stopped with an `unsupported` error naming the node (an operator, attribute, data type or",
            "value kind rkd does not handle); the commonest reasons are listed.",
            "",
            "| operator | cases run | passed | failed | unsupported | why unsupported |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for (op, row) in rows.sorted(by: { $0.key < $1.key }) {
            let reasons = row.reasons.sorted { $0.value > $1.value }.prefix(2).map { "\($0.key) (\($0.value))" }
                .joined(separator: "; ")
            lines.append("| \(op) | \(row.run) | \(row.passed) | \(row.failed) | \(row.unsupported) | \(reasons) |")
        }
        // Cases whose every operator is supported but that still do not run: each with its full reason.
        let notRun = cases.compactMap { c -> (String, String)? in
            guard case .unsupported(let why) = c.outcome, !c.operators.isEmpty,
                c.operators.allSatisfy({ OperatorRegistry.operators[$0] != nil })
            else { return nil }
            return ("\(c.suite)/\(c.name)", why)
        }
        lines += [
            "",
            "## Supported operators, cases not run",
            "",
            "Cases made only of supported operators that stop with an `unsupported` error anyway (an input",
            "rank, attribute value, data type or mode rkd does not handle), with the error:",
            "",
            "| case | why |",
            "| --- | --- |",
        ]
        for (name, why) in notRun {
            lines.append("| \(name) | \(why.replacingOccurrences(of: "|", with: "/")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A short reason: the operator message without node names and shapes.
    static func summary(_ why: String) -> String {
        if why.contains("is not supported by rkd") {
            let op =
                why.components(separatedBy: "operator ").dropFirst().first?.components(separatedBy: " ").first ?? "?"
            return "operator \(op) not supported"
        }
        if why.contains("is not a tensor") { return "sequence/optional value" }
        if why.contains("data type") { return "data type not supported" }
        if let range = why.range(of: "): ") {
            return String(why[range.upperBound...].prefix(70)).replacingOccurrences(of: "|", with: "/")
        }
        return String(why.prefix(70)).replacingOccurrences(of: "|", with: "/")
    }
}
