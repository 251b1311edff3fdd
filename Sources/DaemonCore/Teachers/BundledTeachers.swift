import Foundation
import Jobs
import Logging

/// The teachers shipped with rkd (samples/teachers/, installed to share/rkd/teachers/): each is stored
/// into the teacher store on the first daemon start that finds it, and remembered in
/// `teachers/.bundled`, so a teacher the user removed does not come back at the next start.
enum BundledTeachers {
    static let markerFile = ".bundled"

    /// The directory the configuration names, else `share/rkd/teachers` beside the executable's `bin/`.
    static func directory(_ configuration: DaemonConfiguration) -> URL? {
        if let configured = configuration.bundledTeachers { return URL(fileURLWithPath: configured) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidate = executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/rkd/teachers")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// Stores every bundled teacher not stored before; returns the names stored now. A bundled
    /// teacher that cannot be read is logged and skipped (the daemon still starts).
    @discardableResult
    static func install(from directory: URL, into store: TeacherStore, logger: Logger) -> [String] {
        let marker = store.directory.appendingPathComponent(markerFile)
        var done = Set(
            ((try? String(contentsOf: marker, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        )
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        var installed: [String] = []
        for name in names where !name.hasPrefix(".") && !done.contains(name) {
            let folder = directory.appendingPathComponent(name)
            do {
                let manifestData = try Data(contentsOf: folder.appendingPathComponent(TeacherStore.manifestFile))
                var manifest = try TeacherManifest.decode(manifestData, what: "bundled teacher \(folder.path)")
                let model = try Data(contentsOf: folder.appendingPathComponent(TeacherStore.modelFile))
                let digest = SHA256.hash(model).hex
                guard digest == manifest.sha256 else {
                    logger.error(
                        "a bundled teacher's file does not match its manifest; not stored",
                        metadata: [
                            "teacher": "\(name)", "sha256": "\(digest)", "manifest.sha256": "\(manifest.sha256)",
                        ]
                    )
                    continue
                }
                manifest.source = .bundled
                if (try? store.entry(name)) == nil {
                    try store.install(name: name, model: model, manifest: manifest)
                    installed.append(name)
                    logger.notice("stored the bundled teacher", metadata: ["teacher": "\(name)"])
                }
                done.insert(name)
            } catch {
                logger.error(
                    "a bundled teacher cannot be read; not stored",
                    metadata: ["teacher": "\(name)", "error": "\(error)"]
                )
            }
        }
        do {
            try Data(done.sorted().map { $0 + "\n" }.joined().utf8).write(to: marker, options: .atomic)
        } catch {
            logger.warning("cannot record the bundled teachers stored", metadata: ["error": "\(error)"])
        }
        return installed
    }
}
