#include "blas.hpp"

#include <xgrad/var.hpp>

#include <cblas.h>

#include <algorithm>

namespace xg::blas {

namespace {
template <class T, class Gemm>
void call(Gemm gemm, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T beta,
          T* c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        // BLAS leaves C untouched (times beta) for an empty inner dimension; the product is zero.
        std::for_each(c, c + m * n, [beta](T& v) { v = beta == T(0) ? T(0) : v * beta; });
        return;
    }
    const auto lda = static_cast<int>(ta ? m : k);
    const auto ldb = static_cast<int>(tb ? k : n);
    gemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
         static_cast<int>(n), static_cast<int>(k), T(1), a, lda, b, ldb, beta, c, static_cast<int>(n));
}
}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b, float beta,
          float* c) {
    call(cblas_sgemm, ta, tb, m, n, k, a, b, beta, c);
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, const double* b,
          double beta, double* c) {
    call(cblas_dgemm, ta, tb, m, n, k, a, b, beta, c);
}

}  // namespace xg::blas

void xg::set_num_threads(int threads) { openblas_set_num_threads(std::max(1, threads)); }
