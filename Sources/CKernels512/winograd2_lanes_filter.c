#include "CKernels512.h"

#include <immintrin.h>

// The filter gradient by Winograd F(2×2, 3×3)'s adjoint, channels in the lanes (WinogradLanes.swift):
// dw = Σ_tiles Gᵀ·[(Bᵀ·d·B) ⊙ (A·dy·Aᵀ)]·G, with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], A = [1 0; 1 1; 1 −1; 0 −1].

/// Bᵀ applied to four vectors: (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
static inline void apply_b2(const __m512 d[4], __m512 o[4]) {
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
}

void rkd_winograd2_lanes_input(const float *grid, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                               float *v, ptrdiff_t pointStride, ptrdiff_t tileStride) {
    for (int t = 0; t < tiles; t++) {
        const float *patch = grid + 2 * t * positionStride;
        __m512 rowsB[4][4];
        for (int i = 0; i < 4; i++) {
            __m512 d[4];
            for (int j = 0; j < 4; j++) d[j] = _mm512_loadu_ps(patch + i * rowStride + j * positionStride);
            apply_b2(d, rowsB[i]);
        }
        float *out = v + t * tileStride;
        for (int b = 0; b < 4; b++) {
            __m512 column[4], o[4];
            for (int i = 0; i < 4; i++) column[i] = rowsB[i][b];
            apply_b2(column, o);
            for (int a = 0; a < 4; a++) _mm512_storeu_ps(out + (4 * a + b) * pointStride, o[a]);
        }
    }
}

void rkd_winograd2_lanes_gradient(const float *dy, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                                  float *y, ptrdiff_t pointStride, ptrdiff_t tileStride) {
    for (int t = 0; t < tiles; t++) {
        const float *g = dy + 2 * t * positionStride;
        __m512 g00 = _mm512_loadu_ps(g), g01 = _mm512_loadu_ps(g + positionStride);
        __m512 g10 = _mm512_loadu_ps(g + rowStride), g11 = _mm512_loadu_ps(g + rowStride + positionStride);
        // A·dy: rows (g0, g0 + g1, g0 − g1, −g1) of two columns each.
        __m512 r[4][2] = {
            {g00, g01},
            {_mm512_add_ps(g00, g10), _mm512_add_ps(g01, g11)},
            {_mm512_sub_ps(g00, g10), _mm512_sub_ps(g01, g11)},
            {_mm512_sub_ps(_mm512_setzero_ps(), g10), _mm512_sub_ps(_mm512_setzero_ps(), g11)},
        };
        float *out = y + t * tileStride;
        for (int a = 0; a < 4; a++) {
            __m512 c0 = r[a][0], c1 = r[a][1];
            _mm512_storeu_ps(out + (4 * a) * pointStride, c0);
            _mm512_storeu_ps(out + (4 * a + 1) * pointStride, _mm512_add_ps(c0, c1));
            _mm512_storeu_ps(out + (4 * a + 2) * pointStride, _mm512_sub_ps(c0, c1));
            _mm512_storeu_ps(out + (4 * a + 3) * pointStride, _mm512_sub_ps(_mm512_setzero_ps(), c1));
        }
    }
}

/// du[c][k] += Σ_t V[t][c]·Y[t][k] on blocks of CB input channels × KV vectors of 16 output channels
/// (16 sums), C and K constants of each instance.
static inline __attribute__((always_inline)) void filter_products(const float *v, const float *y, float *du,
                                                                  int tiles, const int C, const int K) {
    enum { lanes = 16 };
    const int KV = K / lanes;
    const int CB = 16 / KV;
    for (int c0 = 0; c0 < C; c0 += CB) {
        for (int k0 = 0; k0 < K; k0 += KV * lanes) {
            __m512 acc[16];
            for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
            const float *vt = v + c0;
            const float *yt = y + k0;
            for (int t = 0; t < tiles; t++) {
                __m512 g[4];
                for (int q = 0; q < KV; q++) g[q] = _mm512_loadu_ps(yt + q * lanes);
                for (int c = 0; c < CB; c++) {
                    __m512 x = _mm512_set1_ps(vt[c]);
                    for (int q = 0; q < KV; q++) acc[c * KV + q] = _mm512_fmadd_ps(x, g[q], acc[c * KV + q]);
                }
                vt += C;
                yt += K;
            }
            for (int c = 0; c < CB; c++) {
                for (int q = 0; q < KV; q++) {
                    float *at = du + (c0 + c) * K + k0 + q * lanes;
                    _mm512_storeu_ps(at, _mm512_add_ps(_mm512_loadu_ps(at), acc[c * KV + q]));
                }
            }
        }
    }
}

#define FILTER_PRODUCTS(c, k) \
    case (c) * 1000 + (k): filter_products(v, y, du, tiles, (c), (k)); return 0;

int rkd_winograd2_lanes_filter_products(const float *v, const float *y, float *du, int tiles, int C, int K) {
    switch (C * 1000 + K) {
        FILTER_PRODUCTS(16, 16)
        FILTER_PRODUCTS(16, 32)
        FILTER_PRODUCTS(16, 64)
        FILTER_PRODUCTS(32, 16)
        FILTER_PRODUCTS(32, 32)
        FILTER_PRODUCTS(32, 64)
        FILTER_PRODUCTS(64, 16)
        FILTER_PRODUCTS(64, 32)
        FILTER_PRODUCTS(64, 64)
    default: return -1;
    }
}
