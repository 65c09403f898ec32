/* Run-time choice between the AVX-512 and AVX2 builds of the direct convolution
   (DirectConvolutionKernel.h). Swift's code is built for baseline x86-64, which has neither. */
#include "CKernels.h"

#if defined(__x86_64__)

#define NAME(x) avx512_##x
#define VL 16
#define TILE_ONE 12
#define TILE_TWO 8
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#include "DirectConvolutionKernel.h"
#pragma clang attribute pop
#undef NAME
#undef VL
#undef TILE_ONE
#undef TILE_TWO

/* 16 ymm registers: TILE_ONE + 2 and 2 * TILE_TWO + 3 of them in flight. */
#define NAME(x) avx2_##x
#define VL 8
#define TILE_ONE 8
#define TILE_TWO 6
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "DirectConvolutionKernel.h"
#pragma clang attribute pop

int glia_direct_convolution_widest(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
    return 0;
}

void glia_direct_convolution(int vector_width, const float *x, long height, long width,
                             long in_channels, long kernel, long pad, const float *filters,
                             long out_channels, float *y, long first_row, long row_count) {
    if (vector_width == 16)
        avx512_convolution(x, height, width, in_channels, kernel, pad, filters, out_channels, y,
                           first_row, row_count);
    else
        avx2_convolution(x, height, width, in_channels, kernel, pad, filters, out_channels, y,
                         first_row, row_count);
}

#else

int glia_direct_convolution_widest(void) { return 0; }

void glia_direct_convolution(int vector_width, const float *x, long height, long width,
                             long in_channels, long kernel, long pad, const float *filters,
                             long out_channels, float *y, long first_row, long row_count) {
    (void)vector_width; (void)x; (void)height; (void)width; (void)in_channels; (void)kernel;
    (void)pad; (void)filters; (void)out_channels; (void)y; (void)first_row; (void)row_count;
}

#endif
