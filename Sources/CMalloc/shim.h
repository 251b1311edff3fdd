// glibc's allocator tuning (mallopt, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD), which Swift's Glibc module
// does not export.
#include <malloc.h>
