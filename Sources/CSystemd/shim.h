// Debian's libsystemd (libsystemd-dev): sd-daemon for notify, watchdog and socket activation;
// sd-journal for structured logging.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
