#include "CKernels512.h"

#include <immintrin.h>

// Winograd F(4×4, 3×3) with channels in the vector lanes (WinogradLanes.swift has the layout):
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
// The same operations, in the same order, as the tile-lane transforms of WinogradF4.swift
// (`winograd4B`, `winograd4A`), each lane one channel instead of one tile.

/// Bᵀ applied to six vectors.
static inline void apply_b(const __m512 d[6], __m512 o[6]) {
    const __m512 four = _mm512_set1_ps(4), five = _mm512_set1_ps(5), two = _mm512_set1_ps(2);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]);                  // d4 − 4·d2
    __m512 b = _mm512_fmsub_ps(four, d[1], d[3]);                  // 4·d1 − d3
    __m512 c = _mm512_sub_ps(d[4], d[2]);
    __m512 e = _mm512_mul_ps(two, _mm512_sub_ps(d[1], d[3]));
    __m512 first = _mm512_add_ps(_mm512_fmsub_ps(four, d[0], _mm512_mul_ps(five, d[2])), d[4]);
    __m512 last = _mm512_add_ps(_mm512_fmsub_ps(four, d[1], _mm512_mul_ps(five, d[3])), d[5]);
    o[0] = first;
    o[1] = _mm512_sub_ps(a, b);
    o[2] = _mm512_add_ps(a, b);
    o[3] = _mm512_sub_ps(c, e);
    o[4] = _mm512_add_ps(c, e);
    o[5] = last;
}

/// Aᵀ applied to six vectors.
static inline void apply_a(const __m512 m[6], __m512 o[4]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
    __m512 s12 = _mm512_add_ps(m[1], m[2]);
    __m512 d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]);
    __m512 d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    o[1] = _mm512_fmadd_ps(two, d34, d12);
    o[2] = _mm512_fmadd_ps(four, s34, s12);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), m[5]);
}

void rkd_winograd4_lanes_input(const float *grid, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                               float *v, ptrdiff_t pointStride, ptrdiff_t tileStride) {
    for (int t = 0; t < tiles; t++) {
        const float *patch = grid + 4 * t * positionStride;
        // Rows of d·B (B on each input row), then Bᵀ on their columns.
        __m512 rowsB[6][6];
        for (int i = 0; i < 6; i++) {
            __m512 d[6];
            for (int j = 0; j < 6; j++) d[j] = _mm512_loadu_ps(patch + i * rowStride + j * positionStride);
            apply_b(d, rowsB[i]);
        }
        float *out = v + t * tileStride;
        for (int b = 0; b < 6; b++) {
            __m512 column[6], o[6];
            for (int i = 0; i < 6; i++) column[i] = rowsB[i][b];
            apply_b(column, o);
            for (int a = 0; a < 6; a++) _mm512_storeu_ps(out + (6 * a + b) * pointStride, o[a]);
        }
    }
}

void rkd_winograd4_lanes_output(const float *m, ptrdiff_t pointStride, ptrdiff_t tileStride, int tiles,
                                const float *bias, float *out, ptrdiff_t rowStride, ptrdiff_t positionStride) {
    const __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    for (int t = 0; t < tiles; t++) {
        const float *src = m + t * tileStride;
        // Aᵀ on each column j of M (points 6i + j), then A on the rows.
        __m512 columns[4][6];
        for (int j = 0; j < 6; j++) {
            __m512 x[6], o[4];
            for (int i = 0; i < 6; i++) x[i] = _mm512_loadu_ps(src + (6 * i + j) * pointStride);
            apply_a(x, o);
            for (int a = 0; a < 4; a++) columns[a][j] = o[a];
        }
        float *tileOut = out + 4 * t * positionStride;
        for (int a = 0; a < 4; a++) {
            __m512 o[4];
            apply_a(columns[a], o);
            for (int b = 0; b < 4; b++) {
                __m512 y = bias ? _mm512_add_ps(o[b], b0) : o[b];
                _mm512_storeu_ps(tileOut + a * rowStride + b * positionStride, y);
            }
        }
    }
}

/// M[t][k] = Σ_c V[t][c]·U[c][k] on register blocks of TB tiles × KV vectors of 16 output channels
/// (TB·KV = 24 accumulators), C and K constants of each instance, so that V's broadcasts are
/// constant displacements from one pointer.
static inline __attribute__((always_inline)) void products(const float *v, const float *u, float *m, int tiles,
                                                           const int C, const int K) {
    enum { lanes = 16 };
    const int KV = K / lanes;
    const int TB = 24 / KV;
    int t0 = 0;
    for (; t0 + TB <= tiles; t0 += TB) {
        for (int k0 = 0; k0 < K; k0 += KV * lanes) {
            __m512 acc[24];
            for (int i = 0; i < 24; i++) acc[i] = _mm512_setzero_ps();
            const float *vt = v + t0 * C;
            for (int c = 0; c < C; c++) {
                __m512 w[4];
                for (int q = 0; q < KV; q++) w[q] = _mm512_loadu_ps(u + c * K + k0 + q * lanes);
                for (int t = 0; t < TB; t++) {
                    __m512 x = _mm512_set1_ps(vt[t * C + c]);
                    for (int q = 0; q < KV; q++) acc[t * KV + q] = _mm512_fmadd_ps(x, w[q], acc[t * KV + q]);
                }
            }
            for (int t = 0; t < TB; t++) {
                for (int q = 0; q < KV; q++) _mm512_storeu_ps(m + (t0 + t) * K + k0 + q * lanes, acc[t * KV + q]);
            }
        }
    }
    // The last tiles, fewer than a block, one at a time.
    for (; t0 < tiles; t0++) {
        __m512 acc[4];
        for (int q = 0; q < KV; q++) acc[q] = _mm512_setzero_ps();
        for (int c = 0; c < C; c++) {
            __m512 x = _mm512_set1_ps(v[t0 * C + c]);
            for (int q = 0; q < KV; q++) acc[q] = _mm512_fmadd_ps(x, _mm512_loadu_ps(u + c * K + q * lanes), acc[q]);
        }
        for (int q = 0; q < KV; q++) _mm512_storeu_ps(m + t0 * K + q * lanes, acc[q]);
    }
}

#define PRODUCTS(c, k) \
    case (c) * 1000 + (k): products(v, u, m, tiles, (c), (k)); return 0;

int rkd_winograd_lanes_products(const float *v, const float *u, float *m, int tiles, int C, int K) {
    switch (C * 1000 + K) {
        PRODUCTS(16, 16)
        PRODUCTS(16, 32)
        PRODUCTS(16, 64)
        PRODUCTS(32, 16)
        PRODUCTS(32, 32)
        PRODUCTS(32, 64)
        PRODUCTS(64, 16)
        PRODUCTS(64, 32)
        PRODUCTS(64, 64)
    default: return -1;
    }
}
