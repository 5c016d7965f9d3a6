#pragma once
// Exceptions thrown by xgrad. Every message names the op and, where it matters, the shapes involved.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

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

/// A NaN or Inf found while anomaly mode is on. The message names the op; the fields say the same for code
/// that wants to tell cases apart.
struct AnomalyError : Error {
    enum class Phase { forward, backward };

    using Error::Error;
    /// The message: "anomaly: 'log' produced NaN in its output (shape (2,), first at flat index 1)" in forward,
    /// "anomaly: backward of 'sqrt' produced Inf in the output of 'div' (...)" in backward.
    AnomalyError(std::string op, Phase phase, std::string value, bool nan, std::vector<std::size_t> shape,
                 std::size_t flat_index);

    /// The forward op the value belongs to; in backward, the op whose vector-Jacobian product made it.
    std::string op;
    Phase phase = Phase::forward;
    /// Which value: "output" in forward; in backward "gradient of input 1" (what the product handed to input 1)
    /// or "output of 'div'" (an op the product ran).
    std::string value;
    /// NaN, or else an infinity.
    bool nan = false;
    std::vector<std::size_t> shape;
    /// Where the first one is, counting elements in row-major order.
    std::size_t flat_index = 0;
};

/// A data file or dataset that cannot be used: a bad or truncated IDX file, label and image counts that differ,
/// a missing dataset directory. The message names the file and, for file contents, the byte offset.
struct DataError : Error {
    using Error::Error;
};

}  // namespace xg
