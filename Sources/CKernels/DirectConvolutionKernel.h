/* The direct convolution for one instruction set. DirectConvolution.c includes this file once per
   set, with VL (floats per vector), NAME(x) (suffixes x with the set's name), the tile shapes
   TILE_ONE (pixels per tile with one vector of output channels) and TILE_TWO (with two), and the
   set's target attribute pushed over every function.

   A tile is P consecutive output pixels of one output row times CB vectors of output channels, its
   P*CB sums held in registers for the whole k*k*Cin reduction: each step loads CB filter vectors
   (filters [ky, kx, ci, co], co contiguous) and multiplies them by each pixel's input value
   broadcast, so every loaded filter vector serves P pixels and every input value CB vectors.
   Tiles cover the pixels whose taps all lie inside the row; edge pixels take the checked
   one-pixel path. */

typedef float NAME(vec) __attribute__((ext_vector_type(VL)));

static inline NAME(vec) NAME(load)(const float *p) {
    NAME(vec) v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline void NAME(store)(float *p, NAME(vec) v) { __builtin_memcpy(p, &v, sizeof v); }

/* P pixels from `ox` on, output channels co ..< co + CB*VL, all taps inside the row horizontally. */
#define DEFINE_TILE(TILE, P, CB)                                                                         \
static void NAME(TILE)(             const float *image, long height, long width, long cin, long k,  \
                                  long pad, const float *filters, long cout, long oy, long ox,     \
                                  long co, float *out) {                                           \
    NAME(vec) acc[P][CB];                                                                          \
    for (int p = 0; p < P; p++) for (int j = 0; j < CB; j++) acc[p][j] = (NAME(vec))0;             \
    for (long ky = 0; ky < k; ky++) {                                                              \
        long iy = oy + ky - pad;                                                                   \
        if (iy < 0 || iy >= height) continue;                                                      \
        for (long kx = 0; kx < k; kx++) {                                                          \
            const float *in = image + (iy * width + ox + kx - pad) * cin;                          \
            const float *w = filters + (ky * k + kx) * cin * cout + co;                            \
            for (long c = 0; c < cin; c++) {                                                       \
                NAME(vec) f[CB];                                                                   \
                for (int j = 0; j < CB; j++) f[j] = NAME(load)(w + c * cout + j * VL);             \
                for (int p = 0; p < P; p++) {                                                      \
                    NAME(vec) b = (NAME(vec))in[p * cin + c];                                      \
                    for (int j = 0; j < CB; j++) acc[p][j] = __builtin_elementwise_fma(b, f[j], acc[p][j]); \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    for (int p = 0; p < P; p++)                                                                    \
        for (int j = 0; j < CB; j++) NAME(store)(out + (ox + p) * cout + co + j * VL, acc[p][j]);  \
}

DEFINE_TILE(tile_one, TILE_ONE, 1)
DEFINE_TILE(tile_two, TILE_TWO, 2)
#undef DEFINE_TILE

/* One output pixel, every output channel, taps outside the image skipped. */
static void NAME(pixel)(const float *image, long height, long width, long cin, long k, long pad,
                        const float *filters, long cout, long oy, long ox, float *out) {
    for (long co = 0; co < cout; co += VL) {
        NAME(vec) acc = (NAME(vec))0;
        for (long ky = 0; ky < k; ky++) {
            long iy = oy + ky - pad;
            if (iy < 0 || iy >= height) continue;
            for (long kx = 0; kx < k; kx++) {
                long ix = ox + kx - pad;
                if (ix < 0 || ix >= width) continue;
                const float *in = image + (iy * width + ix) * cin;
                const float *w = filters + (ky * k + kx) * cin * cout + co;
                for (long c = 0; c < cin; c++)
                    acc = __builtin_elementwise_fma((NAME(vec))in[c], NAME(load)(w + c * cout), acc);
            }
        }
        NAME(store)(out + ox * cout + co, acc);
    }
}

static void NAME(convolution)(const float *x, long height, long width, long cin, long k, long pad,
                              const float *filters, long cout, float *y, long first_row,
                              long row_count) {
    long out_height = height + 2 * pad - k + 1, out_width = width + 2 * pad - k + 1;
    /* Pixels ox in [lo, hi) have every tap inside the row: ox - pad >= 0, ox - pad + k <= width. */
    long lo = pad < out_width ? pad : out_width;
    long hi = width - k + pad + 1;
    if (hi > out_width) hi = out_width;
    if (hi < lo) hi = lo;
    for (long r = first_row; r < first_row + row_count; r++) {
        long n = r / out_height, oy = r % out_height;
        const float *image = x + n * height * width * cin;
        float *out = y + r * out_width * cout;
        for (long ox = 0; ox < lo; ox++) NAME(pixel)(image, height, width, cin, k, pad, filters, cout, oy, ox, out);
        long covered = hi; /* from here on, the one-pixel path */
        for (long co = 0; co < cout;) {
            int two = cout - co >= 2 * VL;
            long step = two ? TILE_TWO : TILE_ONE, ox = lo;
            for (; ox + step <= hi; ox += step) {
                if (two) NAME(tile_two)(image, height, width, cin, k, pad, filters, cout, oy, ox, co, out);
                else NAME(tile_one)(image, height, width, cin, k, pad, filters, cout, oy, ox, co, out);
            }
            if (ox < covered) covered = ox;
            co += two ? 2 * VL : VL;
        }
        for (long ox = covered; ox < out_width; ox++) NAME(pixel)(image, height, width, cin, k, pad, filters, cout, oy, ox, out);
    }
}
