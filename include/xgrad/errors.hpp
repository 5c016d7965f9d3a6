#pragma once
// Exceptions thrown by xgrad. Every message names the op and, where it matters, the shapes involved.
#include <stdexcept>

namespace xg {

/// Base of every xgrad error.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Operand shapes that an op cannot combine, e.g. `matmul: cannot multiply (100, 784) by (100, 50)`.
struct ShapeError : Error {
    using Error::Error;
};

/// A value of the wrong dtype was asked for, e.g. `value<float>()` on a float64 variable.
struct DtypeError : Error {
    using Error::Error;
};

/// Misuse of the graph: backward on a non-scalar without an output gradient, backward through a released graph, ...
struct GraphError : Error {
    using Error::Error;
};

/// A NaN or Inf found while anomaly mode is on; the message names the op that produced it.
struct AnomalyError : Error {
    using Error::Error;
};

/// A data file or dataset that cannot be used: a bad or truncated IDX file, label and image counts that differ,
/// a missing dataset directory. The message names the file and, for file contents, the byte offset.
struct DataError : Error {
    using Error::Error;
};

}  // namespace xg
