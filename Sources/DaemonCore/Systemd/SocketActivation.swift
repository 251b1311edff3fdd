import CSystemd
import Glibc

/// Socket activation (sd_listen_fds(3)): the listening socket systemd hands over as fd 3.
public enum SocketActivation {
    /// The inherited listening Unix stream socket, if this process was socket-activated with one.
    /// Unsets `LISTEN_FDS`/`LISTEN_PID` so children do not inherit them.
    /// - Throws: `DaemonError` when systemd passed descriptors but the first is not a listening
    ///   Unix stream socket, or passed more than one.
    public static func inheritedListener() throws -> Int32? {
        let count = sd_listen_fds(1)
        guard count > 0 else {
            if count < 0 {
                throw DaemonError(.configuration, "socket activation failed: \(String(cString: strerror(-count)))")
            }
            return nil
        }
        guard count == 1 else {
            throw DaemonError(
                .configuration,
                "systemd passed \(count) sockets; rkdd.socket must declare exactly one ListenStream="
            )
        }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
            throw DaemonError(
                .configuration,
                "the socket systemd passed (fd \(fd)) is not a listening Unix stream socket; "
                    + "rkdd.socket must use ListenStream=/path"
            )
        }
        return fd
    }
}
