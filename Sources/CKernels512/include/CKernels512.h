// AVX-512 helpers written in C where Swift's SIMD types compile poorly: LLVM merges a transpose's
// shuffles written on SIMD16 values into about three times as many instructions as the 16×16
// transpose needs. Compiled with -mavx512f (Package.swift); called only where the CPU has AVX-512.
#ifndef RKD_CKERNELS512_H
#define RKD_CKERNELS512_H

#include <stddef.h>

/// dst[i·dstStride + j] = src[j·srcStride + i] for i, j < 16: one 16×16 block of floats transposed in
/// registers (32-bit and 64-bit interleaves within 128-bit lanes, then two rounds of lane selects).
void rkd_transpose16x16(const float *src, ptrdiff_t srcStride, float *dst, ptrdiff_t dstStride);

#endif
