import Foundation
import Glibc

/// Where a per-user daemon (`rkdd --user`) listens, keeps its state and logs, from the XDG variables.
struct UserDaemonPaths: Sendable {
    /// $XDG_RUNTIME_DIR, or a private fallback when it is not set (it is then passed on to rkdd).
    let runtimeDirectory: String
    /// $XDG_STATE_HOME, or ~/.local/state.
    let stateHome: String

    /// `$XDG_RUNTIME_DIR/rkd/rkd.sock`.
    var socket: String { runtimeDirectory + "/rkd/rkd.sock" }
    /// `$XDG_STATE_HOME/rkd`: the daemon's state directory, and where rkdctl writes its log.
    var stateDirectory: String { stateHome + "/rkd" }
    /// The autostarted daemon's standard output and error.
    var logFile: String { stateDirectory + "/rkdd.log" }

    init(environment: [String: String]) {
        let uid = getuid()
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            runtimeDirectory = runtime
        } else if access("/run/user/\(uid)", W_OK) == 0 {
            runtimeDirectory = "/run/user/\(uid)"
        } else {
            // No session manager made a runtime directory (containers, su): use one in /tmp that rkdctl
            // creates with mode 0700 before it starts rkdd.
            runtimeDirectory = "/tmp/rkd-runtime-\(uid)"
        }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            stateHome = state
        } else {
            let home = environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
            stateHome = home + "/.local/state"
        }
    }

    /// The environment for rkdd: the caller's, with the two directories set explicitly so that the daemon
    /// and every later rkdctl agree on them.
    func daemonEnvironment(from environment: [String: String]) -> [String: String] {
        var result = environment
        result["XDG_RUNTIME_DIR"] = runtimeDirectory
        result["XDG_STATE_HOME"] = stateHome
        return result
    }
}
