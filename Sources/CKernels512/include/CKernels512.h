// AVX-512 kernels written in C where Swift's SIMD types compile poorly (LLVM merges a transpose's
// shuffles written on SIMD16 values into about three times as many instructions as it needs) or
// where a register block must be specialised on constant channel counts. Compiled with -mavx512f
// (Package.swift); called only where the CPU has AVX-512.
#ifndef RKD_CKERNELS512_H
#define RKD_CKERNELS512_H

#include <stddef.h>

/// dst[i·dstStride + j] = src[j·srcStride + i] for i, j < 16: one 16×16 block of floats transposed in
/// registers (32-bit and 64-bit interleaves within 128-bit lanes, then two rounds of lane selects).
void rkd_transpose16x16(const float *src, ptrdiff_t srcStride, float *dst, ptrdiff_t dstStride);

/// dst[i·dstStride + j] = src[j·srcStride + i] for i < cols and j < rows (1 ≤ rows, cols ≤ 16): a
/// partial block, read and written with masks (nothing outside it is touched).
void rkd_transpose_block(const float *src, ptrdiff_t srcStride, int rows, int cols, float *dst,
                         ptrdiff_t dstStride);

/// Winograd F(4×4, 3×3) input transforms with 16 channels in the vector lanes, for `tiles` tiles of
/// one tile row: tile t's 6×6 patch point (i, j) is the 16 floats at
/// grid + i·rowStride + (4t + j)·positionStride, and V[ξ = 6a + b] = (Bᵀ·d·B)[a][b] goes to
/// v + ξ·pointStride + t·tileStride.
void rkd_winograd4_lanes_input(const float *grid, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                               float *v, ptrdiff_t pointStride, ptrdiff_t tileStride);

/// Winograd F(4×4, 3×3) output transforms with 16 channels in the lanes, for `tiles` tiles of one tile
/// row: M[ξ] of tile t is the 16 floats at m + ξ·pointStride + t·tileStride, and output (a, b) of the
/// tile, (Aᵀ·M·A)[a][b] + bias (16 floats, or none), goes to out + a·rowStride + (4t + b)·positionStride.
void rkd_winograd4_lanes_output(const float *m, ptrdiff_t pointStride, ptrdiff_t tileStride, int tiles,
                                const float *bias, float *out, ptrdiff_t rowStride, ptrdiff_t positionStride);

/// The Winograd products of one transform point with the output channels in the lanes:
/// M[t][k] = Σ_c V[t][c]·U[c][k] for t < tiles, V (tiles, C), U (C, K), M (tiles, K), C and K each 16,
/// 32 or 64 (the register blocks are specialised on them; tiles past the last whole block run one at
/// a time). Returns 0, or −1 for channel counts it has no block for (nothing is written then).
int rkd_winograd_lanes_products(const float *v, const float *u, float *m, int tiles, int C, int K);

/// The filter gradient by Winograd F(2×2, 3×3)'s adjoint with channels in the lanes, for `tiles` tiles
/// of one tile row. Input transforms: tile t's 4×4 patch point (i, j) is the 16 floats at
/// grid + i·rowStride + (2t + j)·positionStride, and (Bᵀ·d·B)[ξ = 4a + b] goes to
/// v + ξ·pointStride + t·tileStride.
void rkd_winograd2_lanes_input(const float *grid, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                               float *v, ptrdiff_t pointStride, ptrdiff_t tileStride);

/// Output-gradient transforms: tile t's 2×2 gradient point (a, b) is the 16 floats at
/// dy + a·rowStride + (2t + b)·positionStride, and (A·dy·Aᵀ)[ξ] (4×4, A = [1 0; 1 1; 1 −1; 0 −1]) goes
/// to y + ξ·pointStride + t·tileStride.
void rkd_winograd2_lanes_gradient(const float *dy, ptrdiff_t rowStride, ptrdiff_t positionStride, int tiles,
                                  float *y, ptrdiff_t pointStride, ptrdiff_t tileStride);

/// The adjoint's products of one transform point: du[c][k] += Σ_t V[t][c]·Y[t][k] for t < tiles, V
/// (tiles, C), Y (tiles, K), du (C, K), C and K each 16, 32 or 64 (register blocks of 16 sums
/// specialised on them, kept in registers over all the tiles). Returns 0, or −1 for other counts.
int rkd_winograd2_lanes_filter_products(const float *v, const float *y, float *du, int tiles, int C, int K);

#endif
