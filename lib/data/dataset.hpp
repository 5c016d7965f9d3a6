#pragma once
// Row operations on datasets that several files of lib/data share (defined in dataset.cpp): subset, the scalers,
// the synthetic sets and the DataLoader all work on (N, ...) arrays one row at a time.
#include <xgrad/data.hpp>
#include <xgrad/random.hpp>

#include <cstddef>
#include <vector>

namespace xg::data {

/// Elements per row of an (N, ...) array; 0 for a scalar or an array of no rows.
std::size_t row_size(const xt::xarray<float>& a);

/// `shape` with its first extent, the row count, set to `rows`.
Shape with_rows(const Shape& shape, std::size_t rows);

/// The data of `rows` to overwrite with an array of `shape`: its own array if nobody else holds it and the shape
/// fits, else a new one (a graph still alive keeps the old).
float* reuse_or_allocate(Var& rows, const Shape& shape);

/// Copies the rows `rows[0]`, …, `rows[count − 1]` of `from`, in that order, to `to`.
void gather_rows(const xt::xarray<float>& from, const std::size_t* rows, std::size_t count, float* to);

/// Throws DataError naming `op` unless the dataset has input rows and, where it has labels or targets, one per row.
void check_same_rows(const char* op, const Dataset& data);

/// An uninitialised (n, width) array, its shape checked like any shape a user gives.
xt::xarray<float> uninitialised_rows(const char* op, std::size_t n, std::size_t width);

/// 0, …, n − 1 in an order drawn from `generator`.
std::vector<std::size_t> permutation(std::size_t n, Generator& generator);

/// A classification set of `classes` classes.
Dataset labelled(xt::xarray<float> inputs, std::vector<std::size_t> labels, std::size_t classes);

}  // namespace xg::data
