#include "CKernels512.h"

#include <immintrin.h>

/// r[j] (row j) → r[i] (column i) of a 16×16 block.
static inline void transpose_registers(__m512 r[16]) {
    __m512 t[16];
    // t[2i], t[2i + 1]: rows 2i and 2i + 1 interleaved, per 128-bit lane l (columns 4l, 4l + 1 and
    // 4l + 2, 4l + 3).
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + m], lane l: column 4l + m of rows 4g ..< 4g + 4.
    __m512 u[16];
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Column 4l + m of the block: lane l of u[m], u[4 + m], u[8 + m], u[12 + m].
    for (int m = 0; m < 4; m++) {
        __m512 a = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44);
        __m512 b = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xEE);
        __m512 c = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
        __m512 d = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xEE);
        r[m] = _mm512_shuffle_f32x4(a, c, 0x88);
        r[4 + m] = _mm512_shuffle_f32x4(a, c, 0xDD);
        r[8 + m] = _mm512_shuffle_f32x4(b, d, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
}

void rkd_transpose16x16(const float *src, ptrdiff_t srcStride, float *dst, ptrdiff_t dstStride) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * srcStride);
    transpose_registers(r);
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * dstStride, r[i]);
}

void rkd_transpose_block(const float *src, ptrdiff_t srcStride, int rows, int cols, float *dst,
                         ptrdiff_t dstStride) {
    __mmask16 colMask = (__mmask16)((1u << cols) - 1u);
    __mmask16 rowMask = (__mmask16)((1u << rows) - 1u);
    __m512 r[16];
    for (int j = 0; j < 16; j++) {
        r[j] = j < rows ? _mm512_maskz_loadu_ps(colMask, src + j * srcStride) : _mm512_setzero_ps();
    }
    transpose_registers(r);
    for (int i = 0; i < cols; i++) _mm512_mask_storeu_ps(dst + i * dstStride, rowMask, r[i]);
}
