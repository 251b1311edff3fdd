import Foundation
import Testing

/// The built `rkdctl`, beside this test bundle in the build's products directory (like
/// swift-argument-parser's `AssertExecuteCommand`, which looks next to the .xctest bundle).
enum Products {
    /// The directory holding the test runner, and so the package's executables.
    static var directory: URL {
        let runner =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: CommandLine.arguments[0])
        // `swift test` runs `<products>/rkdPackageTests.xctest`; on Linux that is the runner executable.
        return runner.deletingLastPathComponent()
    }

    static func executable(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// What one run of a command printed and how it ended.
struct CommandResult: Sendable {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// Runs a built executable (or one given by its absolute path) with arguments and an environment (the
/// test's, minus RKD_SOCKET, plus `environment`), waiting at most `timeout` seconds. Async, so that an
/// in-test daemon keeps the cooperative threads it needs while the command runs.
func run(
    _ arguments: [String],
    executable name: String = "rkdctl",
    environment: [String: String] = [:],
    timeout: Double = 60
) async throws -> CommandResult {
    let executable = name.hasPrefix("/") ? URL(fileURLWithPath: name) : Products.executable(name)
    try #require(
        FileManager.default.isExecutableFile(atPath: executable.path),
        "no \(name) at \(executable.path): build it first (`swift build --build-tests` builds every product)"
    )
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["RKD_SOCKET"] = nil
    env["COLUMNS"] = "80"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("rkdctl-test-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: output.path + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: output.path + ".err", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: output.path + ".out")
        try? FileManager.default.removeItem(atPath: output.path + ".err")
    }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output.path + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output.path + ".err"))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning {
        Issue.record("\(name) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        process.terminate()
        let grace = Date().addingTimeInterval(5)
        while process.isRunning && Date() < grace { try await Task.sleep(for: .milliseconds(20)) }
        // Foundation notices a child's exit when a descriptor it gave the child closes; if something
        // inherited that descriptor, waiting would never end.
        guard !process.isRunning else { return CommandResult(status: -1, standardOutput: "", standardError: "") }
    }
    process.waitUntilExit()
    let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return CommandResult(
        status: process.terminationStatus,
        standardOutput: read(output.path + ".out"),
        standardError: read(output.path + ".err")
    )
}

/// A fresh temporary directory, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    // Short: a Unix socket path must fit in 108 bytes.
    let directory = URL(fileURLWithPath: "/tmp/rkdctl-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}
