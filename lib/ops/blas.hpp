#pragma once
// C = alpha·op(A)·op(B) + beta·C on row-major buffers, and linear solves, through OpenBLAS (and the LAPACK it
// carries). A large product is split by rows across xgrad's threads. Kept in its own translation unit because
// <cblas.h> clashes with xtensor-blas's declarations.
#include <cstddef>

namespace xg::blas {

void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, const float* a,
          const float* b, float beta, float* c);
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, const double* a,
          const double* b, double beta, double* c);

/// Overwrites the row-major n×k `b` with the solution of a·x = b for the row-major n×n `a` (LU with partial
/// pivoting, LAPACK's gesv, on a column-major copy of `a`). Returns 0, or i > 0 when U(i, i) is exactly zero (a is
/// singular).
int solve(std::size_t n, std::size_t k, const float* a, float* b);
int solve(std::size_t n, std::size_t k, const double* a, double* b);

}  // namespace xg::blas
