import Datasets
import Foundation
import ONNXInterop

/// rkdd's settings: a JSON file (`/etc/rkd/rkdd.conf` for the system daemon) over built-in
/// defaults, then command-line flags over both. Every key is optional; see `systemd/rkdd.conf`
/// for a documented example.
public struct DaemonConfiguration: Codable, Sendable, Equatable {
    /// Where the daemon serves: system or per-user.
    public enum Mode: String, Codable, Sendable {
        case system
        case user
    }

    /// The Unix socket to bind when not socket-activated.
    public var socketPath: String
    /// Where the job store and artifacts live.
    public var stateDirectory: String
    /// The largest model UploadModel accepts, in bytes.
    public var maxUploadBytes: Int
    /// How many jobs may wait in the queue; Submit* beyond it gets RESOURCE_EXHAUSTED.
    public var maxQueuedJobs: Int
    /// How many compute jobs run at once (the machine has few cores: 1 by default).
    public var concurrentJobs: Int
    /// The most concurrent RPC streams per connection.
    public var maxConcurrentStreams: Int
    /// The largest request message, in bytes (Predict's batch must fit).
    public var maxRequestBytes: Int
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel: String
    /// How often a crashed job is retried before it fails.
    public var maxAttempts: Int
    /// The most nodes a model may have, in all its graphs, and the longest chain of nodes (ONNX import).
    public var maxGraphNodes: Int = 100_000
    /// Data sets beyond the built-in Fashion-MNIST: MNIST-style IDX files or CIFAR-10 binary batches.
    public var datasets: [DatasetEntry] = []
    /// The directory of the teachers shipped with rkd (`<name>/teacher.onnx` + `manifest.json`), each
    /// stored into the teacher store on the first start that sees it; `nil`: `share/rkd/teachers` beside
    /// the executable's `bin/` (`/usr/share/rkd/teachers` for `/usr/bin/rkdd`).
    public var bundledTeachers: String?

    /// A data set of the configuration.
    public struct DatasetEntry: Codable, Sendable, Equatable {
        /// The name requests use, e.g. `cifar-10`.
        public var name: String
        /// `idx` (train-images-idx3-ubyte[.gz] and the like, 10 classes) or `cifar-10-binary`
        /// (data_batch_1.bin … data_batch_5.bin, test_batch.bin).
        public var format: String
        /// The absolute directory holding the files.
        public var directory: String

        public init(name: String, format: String, directory: String) {
            self.name = name
            self.format = format
            self.directory = directory
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case socketPath, stateDirectory, maxUploadBytes, maxQueuedJobs, concurrentJobs, maxConcurrentStreams,
            maxRequestBytes, logLevel, maxAttempts, datasets, maxGraphNodes, bundledTeachers
    }

    /// The ONNX import limits these settings give.
    public var importLimits: ImportLimits {
        var limits = ImportLimits.default
        limits.maximumNodes = maxGraphNodes
        limits.maximumChainLength = maxGraphNodes
        return limits
    }

    /// The defaults for a mode, from the environment (systemd's `STATE_DIRECTORY`, the XDG variables).
    public static func defaults(for mode: Mode, environment: [String: String]) throws -> DaemonConfiguration {
        let socketPath: String
        let stateDirectory: String
        switch mode {
        case .system:
            socketPath = "/run/rkd/rkd.sock"
            stateDirectory =
                environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
                ?? "/var/lib/rkd"
        case .user:
            guard let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty else {
                throw DaemonError(
                    .configuration,
                    "XDG_RUNTIME_DIR is not set, so a per-user daemon has no place for its socket; "
                        + "log in through a session manager or pass --socket PATH"
                )
            }
            socketPath = runtime + "/rkd/rkd.sock"
            if let state = environment["XDG_STATE_HOME"], !state.isEmpty {
                stateDirectory = state + "/rkd"
            } else if let home = environment["HOME"], !home.isEmpty {
                stateDirectory = home + "/.local/state/rkd"
            } else {
                throw DaemonError(
                    .configuration,
                    "neither XDG_STATE_HOME nor HOME is set; pass --state-directory PATH"
                )
            }
        }
        return DaemonConfiguration(
            socketPath: socketPath,
            stateDirectory: stateDirectory,
            maxUploadBytes: 512 << 20,
            maxQueuedJobs: 64,
            concurrentJobs: 1,
            maxConcurrentStreams: 64,
            maxRequestBytes: 16 << 20,
            logLevel: "info",
            maxAttempts: 3
        )
    }

    /// The defaults overlaid with the keys present in a JSON configuration file.
    /// - Throws: `DaemonError` naming the file and the problem (unknown key, wrong type, bad value).
    public func overlaid(withFile url: URL) throws -> DaemonConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DaemonError(.configuration, "cannot read \(url.path): \(error.localizedDescription)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw DaemonError(.configuration, "\(url.path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let dictionary = object as? [String: Any] else {
            throw DaemonError(.configuration, "\(url.path) must hold a JSON object of settings")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = dictionary.keys.sorted().first(where: { !known.contains($0) }) {
            throw DaemonError(
                .configuration,
                "\(url.path): unknown setting '\(unknown)'; the settings are \(known.sorted().joined(separator: ", "))"
            )
        }
        // Every key optional; a wrong type is an error naming the key (JSONDecoder checks the types).
        struct Overrides: Decodable {
            var socketPath: String?
            var stateDirectory: String?
            var maxUploadBytes: Int?
            var maxQueuedJobs: Int?
            var concurrentJobs: Int?
            var maxConcurrentStreams: Int?
            var maxRequestBytes: Int?
            var logLevel: String?
            var maxAttempts: Int?
            var datasets: [DatasetEntry]?
            var maxGraphNodes: Int?
            var bundledTeachers: String?
        }
        let overrides: Overrides
        do {
            overrides = try JSONDecoder().decode(Overrides.self, from: data)
        } catch DecodingError.typeMismatch(let type, let context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw DaemonError(
                .configuration,
                "\(url.path): '\(key)' must be \(type == String.self ? "a string" : "an integer")"
            )
        } catch {
            throw DaemonError(.configuration, "\(url.path): \(error)")
        }
        var merged = self
        if let v = overrides.socketPath { merged.socketPath = v }
        if let v = overrides.stateDirectory { merged.stateDirectory = v }
        if let v = overrides.logLevel { merged.logLevel = v }
        if let v = overrides.maxUploadBytes { merged.maxUploadBytes = v }
        if let v = overrides.maxQueuedJobs { merged.maxQueuedJobs = v }
        if let v = overrides.concurrentJobs { merged.concurrentJobs = v }
        if let v = overrides.maxConcurrentStreams { merged.maxConcurrentStreams = v }
        if let v = overrides.maxRequestBytes { merged.maxRequestBytes = v }
        if let v = overrides.maxAttempts { merged.maxAttempts = v }
        if let v = overrides.datasets { merged.datasets = v }
        if let v = overrides.maxGraphNodes { merged.maxGraphNodes = v }
        if let v = overrides.bundledTeachers { merged.bundledTeachers = v }
        try merged.validate(source: url.path)
        return merged
    }

    /// Checks ranges; `source` names where the values came from.
    public func validate(source: String) throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw DaemonError(.configuration, "\(source): \(message)") }
        }
        try check(
            socketPath.hasPrefix("/") && socketPath.utf8.count < 108,
            "socketPath must be an absolute path under 108 bytes"
        )
        try check(stateDirectory.hasPrefix("/"), "stateDirectory must be an absolute path")
        try check(maxUploadBytes >= 1024, "maxUploadBytes must be at least 1024")
        try check((1...100_000).contains(maxQueuedJobs), "maxQueuedJobs must be 1…100000")
        try check((1...64).contains(concurrentJobs), "concurrentJobs must be 1…64")
        try check((1...10_000).contains(maxConcurrentStreams), "maxConcurrentStreams must be 1…10000")
        try check((64 << 10...1 << 30).contains(maxRequestBytes), "maxRequestBytes must be 64 KiB…1 GiB")
        try check((1...100).contains(maxAttempts), "maxAttempts must be 1…100")
        try check(
            ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel),
            "logLevel must be trace, debug, info, notice, warning, error or critical"
        )
        try check((1...10_000_000).contains(maxGraphNodes), "maxGraphNodes must be 1…10000000")
        if let bundledTeachers {
            try check(bundledTeachers.hasPrefix("/"), "bundledTeachers must be an absolute path")
        }
        for entry in datasets {
            try check(!entry.name.isEmpty, "every entry of datasets needs a name")
            try check(
                ["idx", "cifar-10-binary"].contains(entry.format),
                "datasets '\(entry.name)': format must be idx or cifar-10-binary, not '\(entry.format)'"
            )
            try check(entry.directory.hasPrefix("/"), "datasets '\(entry.name)': directory must be an absolute path")
        }
        do {
            _ = try datasetCatalog()
        } catch {
            throw DaemonError(.configuration, "\(source): datasets: \(error)")
        }
    }

    /// The built-in data sets and the configured ones.
    public func datasetCatalog() throws -> DatasetCatalog {
        try DatasetCatalog(
            sources: DatasetCatalog.defaultSources
                + datasets.map { entry in
                    entry.format == "idx"
                        ? DatasetSource.mnist(name: entry.name, directory: entry.directory)
                        : DatasetSource.cifar10(name: entry.name, directory: entry.directory)
                }
        )
    }
}
