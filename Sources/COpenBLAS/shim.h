// Debian's libopenblas-dev: cblas.h lives under the openblas-pthread include directory, which
// pkg-config (openblas.pc) adds to the search path.
#include <cblas.h>

// Set at start-up by TensorEngine; declared by OpenBLAS but not in every cblas.h.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
