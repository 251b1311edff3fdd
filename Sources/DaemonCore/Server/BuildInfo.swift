/// What GetVersion reports about the build.
enum BuildInfo {
    /// The source revision, when the build recorded one (not yet: empty, which the API documents as unknown).
    static let commit = ""

    /// The Swift compiler that built the daemon, to the minor version.
    static let swiftVersion: String = {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()
}
