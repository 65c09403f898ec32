#ifndef GLIA_CKERNELS_H
#define GLIA_CKERNELS_H

/* Vector kernels in C, where Swift (built for baseline x86-64) cannot choose the instruction set:
   each is compiled for AVX-512 and for AVX2 + FMA, and picked at run time for the CPU at hand. */

/* The widest vector, in floats, of the direct convolutions this CPU runs: 16 (AVX-512F), 8 (AVX2
   and FMA), or 0 where it runs neither (the caller then uses im2col and GEMM). */
int glia_direct_convolution_widest(void);

/* Direct stride-1 convolution, NHWC, no bias:
     y[n, oy, ox, co] = sum over ky, kx, ci of x[n, oy+ky-pad, ox+kx-pad, ci] * filters[ky, kx, ci, co]
   (zero outside the image), for the output image rows `first_row ..< first_row + row_count` of all
   batch * out_height rows, out_height = height + 2*pad - kernel + 1 (out_width likewise).
   x: [batch, height, width, in_channels]; filters: [kernel, kernel, in_channels, out_channels]
   (HWIO); y: [batch, out_height, out_width, out_channels], whole rows written.
   vector_width: 16 or 8, at most glia_direct_convolution_widest(); out_channels a multiple of it. */
void glia_direct_convolution(int vector_width, const float *x, long height, long width, long in_channels,
                             long kernel, long pad, const float *filters, long out_channels,
                             float *y, long first_row, long row_count);

#endif
