#include "CKernels512.h"

#include <immintrin.h>

void rkd_transpose16x16(const float *src, ptrdiff_t srcStride, float *dst, ptrdiff_t dstStride) {
    __m512 r[16];
    __m512 t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * srcStride);
    // t[2i], t[2i + 1]: rows 2i and 2i + 1 interleaved, per 128-bit lane l (columns 4l, 4l + 1 and
    // 4l + 2, 4l + 3).
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4g + m], lane l: column 4l + m of rows 4g ..< 4g + 4.
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Column 4l + m of the block: lane l of r[m], r[4 + m], r[8 + m], r[12 + m].
    for (int m = 0; m < 4; m++) {
        __m512 a = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44);
        __m512 b = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
        __m512 c = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44);
        __m512 d = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE);
        _mm512_storeu_ps(dst + m * dstStride, _mm512_shuffle_f32x4(a, c, 0x88));
        _mm512_storeu_ps(dst + (4 + m) * dstStride, _mm512_shuffle_f32x4(a, c, 0xDD));
        _mm512_storeu_ps(dst + (8 + m) * dstStride, _mm512_shuffle_f32x4(b, d, 0x88));
        _mm512_storeu_ps(dst + (12 + m) * dstStride, _mm512_shuffle_f32x4(b, d, 0xDD));
    }
}
