#include <cblas.h>

/* The kernel family OpenBLAS runs ("Haswell", "Cooperlake", ...); declared in openblas_config.h,
   repeated so the shim does not depend on where a distribution puts that header. */
char *openblas_get_corename(void);

/* Whether the CPU and the OS run AVX-512 F/DQ/BW/VL, the instructions of OpenBLAS's SkylakeX and
   Cooperlake kernels (libgcc's check includes the OS saving the zmm registers). */
static inline int glia_cpu_runs_avx512_kernels(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
