import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The stored teachers, `teachers/<name>/teacher.onnx` and `teachers/<name>/manifest.json` under the
/// state directory.
///
/// A teacher appears whole or not at all: both files are written durably into a staging directory
/// (`teachers/.staging-…`), which is then renamed to the teacher's name. Replacing a teacher first
/// moves the old one to `teachers/.replaced-<name>`; opening the store puts it back if a crash came
/// between the two renames, deletes it otherwise, and deletes leftover staging directories.
public final class TeacherStore: Sendable {
    /// One stored teacher.
    public struct Entry: Hashable, Sendable {
        /// Its name.
        public var name: String
        /// Its manifest.
        public var manifest: TeacherManifest
        /// Its ONNX file.
        public var modelURL: URL
    }

    /// The file names inside a teacher's directory.
    public static let modelFile = "teacher.onnx"
    public static let manifestFile = "manifest.json"
    static let stagingPrefix = ".staging-"
    static let replacedPrefix = ".replaced-"

    /// `teachers/` in the state directory.
    public let directory: URL
    /// Serialises installs and removals of this process.
    private let lock = Mutex(())

    /// Opens the store in the state directory `root`: creates `teachers/` and finishes or undoes what
    /// a crash interrupted.
    public init(root: URL) throws(ArtifactStoreError) {
        directory = root.appendingPathComponent("teachers")
        try DurableFile.ensureDirectory(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(Self.stagingPrefix) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        for name in names where name.hasPrefix(Self.replacedPrefix) {
            let teacher = String(name.dropFirst(Self.replacedPrefix.count))
            let old = directory.appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(teacher).path) {
                _ = rename(old.path, directory.appendingPathComponent(teacher).path)
            } else {
                try? FileManager.default.removeItem(at: old)
            }
        }
        try DurableFile.syncDirectory(directory)
    }

    /// The teachers whose manifests can be read, by name, and a message for every directory that is
    /// not a readable teacher.
    public func list() -> (teachers: [Entry], problems: [String]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .sorted()
        var teachers: [Entry] = []
        var problems: [String] = []
        for name in names {
            do {
                teachers.append(try entry(name))
            } catch {
                problems.append(error.message)
            }
        }
        return (teachers, problems)
    }

    /// The teacher stored under `name`.
    /// - Throws: ``ArtifactStoreError`` `.notFound` (with the names there are), `.invalidManifest`.
    public func entry(_ name: String) throws(ArtifactStoreError) -> Entry {
        guard TeacherTrainingSpec.isValidTeacherName(name) else {
            throw ArtifactStoreError(.invalidName, "'\(name)' is not a teacher name")
        }
        let folder = directory.appendingPathComponent(name)
        let manifestURL = folder.appendingPathComponent(Self.manifestFile)
        let data: Data
        do {
            data = try ArtifactStore.read(manifestURL, what: "teacher '\(name)'")
        } catch  where error.code == .notFound {
            let known = list().teachers.map(\.name)
            throw ArtifactStoreError(
                .notFound,
                "no teacher is named '\(name)'; "
                    + (known.isEmpty
                        ? "the store is empty: train one (rkdctl teacher train) or import one (rkdctl teacher import)"
                        : "stored: \(known.joined(separator: ", "))")
            )
        }
        let manifest = try TeacherManifest.decode(data, what: "teachers/\(name)/\(Self.manifestFile)")
        return Entry(name: name, manifest: manifest, modelURL: folder.appendingPathComponent(Self.modelFile))
    }

    /// The teacher's ONNX bytes, checked against the manifest's digest.
    /// - Throws: ``ArtifactStoreError`` `.notFound`, `.digestMismatch` when the file changed on disk.
    public func model(_ name: String) throws(ArtifactStoreError) -> (entry: Entry, bytes: Data) {
        let entry = try entry(name)
        let bytes = try ArtifactStore.read(entry.modelURL, what: "teachers/\(name)/\(Self.modelFile)")
        let digest = SHA256.hash(bytes).hex
        guard digest == entry.manifest.sha256 else {
            throw ArtifactStoreError(
                .digestMismatch,
                "teachers/\(name)/\(Self.modelFile) has SHA-256 \(digest) but its manifest says "
                    + "\(entry.manifest.sha256): the file was changed or damaged; remove the teacher and store it again"
            )
        }
        return (entry, bytes)
    }

    /// Stores a teacher: its ONNX bytes and manifest (whose `name` and `sha256` are set here).
    /// - Throws: ``ArtifactStoreError`` `.alreadyExists` when the name is taken and `replace` is off,
    ///   `.invalidManifest`, or a file-system failure (`.noSpace`, …), after which nothing changed.
    @discardableResult
    public func install(
        name: String,
        model bytes: Data,
        manifest: TeacherManifest,
        replace: Bool = false
    ) throws(ArtifactStoreError) -> Entry {
        var manifest = manifest
        manifest.name = name
        manifest.sha256 = SHA256.hash(bytes).hex
        try manifest.validate(what: "the manifest of teacher '\(name)'")
        let encoded: Data
        do {
            encoded = try manifest.encoded()
        } catch {
            throw ArtifactStoreError(.invalidManifest, "cannot encode the manifest of '\(name)': \(error)")
        }
        return try lock.withLock { _ throws(ArtifactStoreError) -> Entry in
            let target = directory.appendingPathComponent(name)
            let exists = FileManager.default.fileExists(atPath: target.path)
            if exists && !replace {
                throw ArtifactStoreError(
                    .alreadyExists,
                    "a teacher named '\(name)' is already stored; choose another name, or replace it "
                        + "(--replace) or remove it first (rkdctl teacher remove \(name))"
                )
            }
            let staging = directory.appendingPathComponent(
                "\(Self.stagingPrefix)\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            )
            guard mkdir(staging.path, 0o750) == 0 else {
                throw ArtifactStoreError(operation: "create the directory", path: staging.path, errno: errno)
            }
            do throws(ArtifactStoreError) {
                for (file, data) in [(Self.modelFile, bytes), (Self.manifestFile, encoded)] {
                    let writer = try DurableFile(directory: staging)
                    try writer.write(data)
                    try writer.commit(as: staging.appendingPathComponent(file))
                }
                let replaced = directory.appendingPathComponent("\(Self.replacedPrefix)\(name)")
                if exists {
                    try? FileManager.default.removeItem(at: replaced)
                    guard rename(target.path, replaced.path) == 0 else {
                        throw ArtifactStoreError(operation: "move aside", path: target.path, errno: errno)
                    }
                }
                guard rename(staging.path, target.path) == 0 else {
                    let number = errno
                    if exists { _ = rename(replaced.path, target.path) }
                    throw ArtifactStoreError(operation: "rename into", path: target.path, errno: number)
                }
                try DurableFile.syncDirectory(directory)
                if exists { try? FileManager.default.removeItem(at: replaced) }
            } catch {
                try? FileManager.default.removeItem(at: staging)
                throw error
            }
            return Entry(name: name, manifest: manifest, modelURL: target.appendingPathComponent(Self.modelFile))
        }
    }

    /// Deletes a teacher.
    /// - Throws: ``ArtifactStoreError`` `.notFound` when no teacher has the name.
    public func remove(_ name: String) throws(ArtifactStoreError) {
        _ = try entry(name)
        try lock.withLock { _ throws(ArtifactStoreError) in
            let target = directory.appendingPathComponent(name)
            let doomed = directory.appendingPathComponent(
                "\(Self.stagingPrefix)removed-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            )
            guard rename(target.path, doomed.path) == 0 else {
                throw ArtifactStoreError(operation: "remove", path: target.path, errno: errno)
            }
            try DurableFile.syncDirectory(directory)
            try? FileManager.default.removeItem(at: doomed)
        }
    }
}
