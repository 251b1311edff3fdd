import Testing

/// Bad flags and arguments exit with status 2 and ArgumentParser's message on standard error.
@Suite("rkdctl usage errors")
struct UsageErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let message: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(arguments: ["inspect", "m.onnx", "--bogus"], message: "Error: Unknown option '--bogus'"),
        Case(arguments: ["inspect"], message: "Error: Missing expected argument '<model.onnx>'"),
        Case(
            arguments: ["predict", "m.onnx", "--input", "x.npy"],
            message: "Error: Missing expected argument '--output <logits.npy>'"
        ),
        Case(
            arguments: ["predict", "m.onnx", "--input", "x.npy", "--output", "o.npy", "--input-gradient", "g.npy"],
            message: "Error: --input-gradient needs --labels"
        ),
        Case(
            arguments: ["jobs", "list", "--state", "done"],
            message: "Error: The value 'done' is invalid for '--state <state>'"
        ),
        Case(arguments: ["jobs", "show"], message: "Error: Missing expected argument '<id>'"),
        Case(
            arguments: ["audit", "m.onnx", "--sample-offset=-5"],
            message: "Error: --sample-offset must be ≥ 0 (0: from the first)"
        ),
        Case(arguments: ["frobnicate"], message: "Error: Unexpected argument 'frobnicate'"),
    ]

    @Test(arguments: cases)
    func exitsWithStatus2(_ testCase: Case) async throws {
        let result = try await run(testCase.arguments + ["--socket", "/nonexistent/rkd.sock", "--no-autostart"])
        #expect(result.status == 2)
        #expect(result.standardError.contains(testCase.message), "stderr: \(result.standardError)")
        #expect(result.standardError.contains("Usage: rkdctl"), "stderr: \(result.standardError)")
        #expect(result.standardOutput.isEmpty)
    }
}
