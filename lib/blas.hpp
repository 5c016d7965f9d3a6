#pragma once
// C = alpha·op(A)·op(B) + beta·C on row-major buffers, through OpenBLAS. Kept in its own translation unit
// because <cblas.h> clashes with xtensor-blas's declarations.
#include <cstddef>

namespace xg::blas {

void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, const float* a,
          const float* b, float beta, float* c);
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, const double* a,
          const double* b, double beta, double* c);

}  // namespace xg::blas
