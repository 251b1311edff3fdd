// Debian's zlib (zlib1g-dev), for reading gzip files (.gz data sets).
#include <zlib.h>

// inflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)), which Swift cannot call.
// windowBits 15 + 16: a 32 KiB window, gzip wrapper only (RFC 1952), header and CRC-32 checked.
static inline int rkd_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
