import Foundation
import Glibc

/// An exclusive lock on a state directory (`rkdd.lock`, flock(2)): opening the job store recovers
/// the jobs a previous run left running, so two daemons on one directory would requeue each
/// other's work. The kernel releases the lock when the process dies, even by SIGKILL.
final class StateDirectoryLock: Sendable {
    let descriptor: Int32

    init(directory: URL) throws {
        let path = directory.appendingPathComponent("rkdd.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DaemonError(
                .storage,
                "cannot open \(path): \(String(cString: strerror(errno))); check the state directory's owner and mode"
            )
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonError(
                .storage,
                "another rkdd already uses the state directory \(directory.path); stop it first, or pass a "
                    + "different --state-directory"
            )
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
