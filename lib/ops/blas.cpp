#include "ops/blas.hpp"
#include "support/thread_pool.hpp"

#include <xgrad/var.hpp>

#include <cblas.h>

#include <algorithm>
#include <functional>
#include <vector>

// LAPACK's LU solvers, which OpenBLAS exports (Fortran calling convention, column-major arrays).
extern "C" {
void sgesv_(const int* n, const int* nrhs, float* a, const int* lda, int* ipiv, float* b, const int* ldb, int* info);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b, const int* ldb, int* info);
}

namespace xg::blas {

namespace {

// Below this many multiply-adds a product stays on one thread: handing half of it over would cost more than it saves.
constexpr double least_parallel_multiply_adds = 4e6;

template <class T, class Gemm>
void call(Gemm gemm, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T beta,
          T* c) {
    // OpenBLAS runs on one thread under xgrad: xgrad's own threads split the work (a batch in fit, the rows of a
    // large product below), and OpenBLAS's would compete with them for the cores.
    [[maybe_unused]] static const bool single_threaded_blas = (openblas_set_num_threads(1), true);
    if (m == 0 || n == 0) return;
    if (k == 0) {
        // BLAS leaves C untouched (times beta) for an empty inner dimension; the product is zero.
        std::for_each(c, c + m * n, [beta](T& v) { v = beta == T(0) ? T(0) : v * beta; });
        return;
    }
    const auto lda = static_cast<int>(ta ? m : k);
    const auto ldb = static_cast<int>(tb ? k : n);
    // Rows [begin, end) of C from the same rows of op(A): each thread's share of a large product.
    const auto rows = [&](std::size_t begin, std::size_t end) {
        gemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
             static_cast<int>(end - begin), static_cast<int>(n), static_cast<int>(k), T(1),
             ta ? a + begin : a + begin * k, lda, b, ldb, beta, c + begin * n, static_cast<int>(n));
    };
    // Inside a task the pool would run the row blocks one after another: one whole product is faster.
    const std::size_t threads = ThreadPool::in_task() ? 1 : static_cast<std::size_t>(num_threads());
    const double multiply_adds = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    const auto worth_splitting = static_cast<std::size_t>(multiply_adds / (least_parallel_multiply_adds / 2));
    const std::size_t parts = std::min({threads, m / 16, worth_splitting});
    if (parts <= 1) return rows(0, m);
    const auto run_part = [&](std::size_t part) { rows(m * part / parts, m * (part + 1) / parts); };
    thread_pool().run(parts, std::ref(run_part));  // by reference: a std::function holding the lambda would allocate
}

// Row-major a is column-major aᵀ, so LAPACK solves aᵀ·y = bᵀ-shaped systems unless a is transposed first; b's k
// columns must also be laid out column by column.
template <class T, class Gesv>
int lu_solve(Gesv gesv, std::size_t n, std::size_t k, const T* a, T* b) {
    if (n == 0 || k == 0) return 0;
    std::vector<T> a_columns(n * n), b_columns(n * k);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) a_columns[j * n + i] = a[i * n + j];
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < k; ++j) b_columns[j * n + i] = b[i * k + j];
    const int size = static_cast<int>(n), columns = static_cast<int>(k);
    std::vector<int> pivots(n);
    int info = 0;
    gesv(&size, &columns, a_columns.data(), &size, pivots.data(), b_columns.data(), &size, &info);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < k; ++j) b[i * k + j] = b_columns[j * n + i];
    return info;
}
}  // namespace

int solve(std::size_t n, std::size_t k, const float* a, float* b) { return lu_solve(sgesv_, n, k, a, b); }
int solve(std::size_t n, std::size_t k, const double* a, double* b) { return lu_solve(dgesv_, n, k, a, b); }

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b, float beta,
          float* c) {
    call(cblas_sgemm, ta, tb, m, n, k, a, b, beta, c);
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, const double* b,
          double beta, double* c) {
    call(cblas_dgemm, ta, tb, m, n, k, a, b, beta, c);
}

}  // namespace xg::blas

