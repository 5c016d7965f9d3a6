#pragma once
// Differentiable operations on xg::Var. Each is recorded on the tape when grad mode is on and an input
// requires grad. Binary elementwise ops broadcast like numpy and promote float32 with float64 to float64, except
// that a 0-d operand does not promote one with dimensions (PyTorch's rule: x32 * Var(2.0) stays float32); their
// gradients are summed back to each input's shape. docs/ops.md lists each op with its math and VJP.
#include <xgrad/var.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace xg {

class Generator;

// Elementwise arithmetic.
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var neg(const Var& x);
Var add(const Var& x, double s);
Var mul(const Var& x, double s);
Var pow(const Var& x, double exponent);
Var pow(const Var& base, const Var& exponent);
Var maximum(const Var& a, const Var& b);  // ties share the gradient half and half, as in PyTorch
Var minimum(const Var& a, const Var& b);

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator-(const Var& x) { return neg(x); }
inline Var operator+(const Var& x, double s) { return add(x, s); }
inline Var operator+(double s, const Var& x) { return add(x, s); }
inline Var operator-(const Var& x, double s) { return add(x, -s); }
inline Var operator-(double s, const Var& x) { return add(neg(x), s); }
inline Var operator*(const Var& x, double s) { return mul(x, s); }
inline Var operator*(double s, const Var& x) { return mul(x, s); }
inline Var operator/(const Var& x, double s) { return mul(x, 1.0 / s); }
inline Var operator/(double s, const Var& x) { return mul(pow(x, -1.0), s); }

// Elementwise functions.
Var exp(const Var& x);
Var log(const Var& x);
Var sqrt(const Var& x);
Var abs(const Var& x);  // gradient sign(x), 0 at 0
Var sigmoid(const Var& x);
Var tanh(const Var& x);
Var relu(const Var& x);
Var leaky_relu(const Var& x, double negative_slope = 0.01);

// Reductions. `axis` may be negative (-1 is the last axis).
Var sum(const Var& x);
Var sum(const Var& x, std::ptrdiff_t axis, bool keepdims = false);
Var mean(const Var& x);
Var mean(const Var& x, std::ptrdiff_t axis, bool keepdims = false);
/// Largest element along `axis`; the gradient goes to the first maximal element, as in PyTorch's max(dim).
Var max(const Var& x, std::ptrdiff_t axis, bool keepdims = false);
/// Sums x down to `shape` (the reverse of broadcast_to), like PyTorch's sum_to_size.
Var sum_to(const Var& x, const Shape& shape);

// Shapes.
/// New shape with the same number of elements; one entry may be -1 (inferred).
Var reshape(const Var& x, const std::vector<std::ptrdiff_t>& shape);
/// Swaps the two axes of a matrix.
Var transpose(const Var& x);
/// Permutes the axes: result axis i is input axis perm[i].
Var transpose(const Var& x, const std::vector<std::size_t>& perm);
Var broadcast_to(const Var& x, const Shape& shape);
Var concat(const std::vector<Var>& xs, std::ptrdiff_t axis = 0);
/// Elements begin..end-1 along `axis` (Python's x[..., begin:end, ...]).
Var slice(const Var& x, std::ptrdiff_t axis, std::size_t begin, std::size_t end);
/// Entry `index` of `axis`, that axis removed (PyTorch's select; x[i] is select(x, 0, i)); a negative index counts
/// from the end.
Var select(const Var& x, std::ptrdiff_t axis, std::ptrdiff_t index);
/// Rows (entries of axis 0) in the given order, repeats allowed: how mini-batches are gathered.
Var select_rows(const Var& x, const std::vector<std::size_t>& rows);

// Linear algebra.
/// Matrix product of two 2-D variables.
Var matmul(const Var& a, const Var& b);
/// x·W + b for x (N, in), W (in, out), b (out), fused into one GEMM.
Var affine(const Var& x, const Var& weight, const Var& bias);
/// The x with a·x = b, for a square a (n, n) and b (n,) or (n, k), by LU with partial pivoting (LAPACK gesv);
/// like torch.linalg.solve. A singular a throws Error.
Var solve(const Var& a, const Var& b);

// Convolution and pooling over NCHW arrays (batch, channels, height, width), as torch.nn.functional's.
using Size2 = std::array<std::size_t, 2>;  // (height, width)
/// "(3, 3)", the way errors and module descriptions show a Size2.
std::string to_string(const Size2& size);

struct Conv2dOptions {
    Size2 stride{1, 1};
    Size2 padding{0, 0};  // zeros on each side
    Size2 dilation{1, 1};
    std::size_t groups = 1;  // divides both channel counts; groups = C_in is a depthwise convolution
};
/// Cross-correlation of input (N, C_in, H, W) with weight (C_out, C_in / groups, kH, kW), plus bias (C_out,) when
/// defined; output (N, C_out, ⌊(H + 2p − d(kH − 1) − 1) / s⌋ + 1, likewise for W). By im2col and GEMM.
Var conv2d(const Var& input, const Var& weight, const Var& bias = Var(), Conv2dOptions options = {});
/// Largest element of each kernel window, stride defaulting to the kernel; padding (at most half the kernel) is
/// −∞. The gradient goes to the first maximum in row-major order within the window, as in PyTorch.
Var max_pool2d(const Var& input, Size2 kernel);
Var max_pool2d(const Var& input, Size2 kernel, Size2 stride, Size2 padding = {0, 0});
/// Mean of each kernel window; padding (at most half the kernel) counts as zeros in the divisor kH·kW
/// (PyTorch's count_include_pad = true).
Var avg_pool2d(const Var& input, Size2 kernel);
Var avg_pool2d(const Var& input, Size2 kernel, Size2 stride, Size2 padding = {0, 0});
/// Mean over output_size bins per plane, bin i spanning rows ⌊i·H / out⌋ to ⌈(i + 1)·H / out⌉ (likewise columns).
Var adaptive_avg_pool2d(const Var& input, Size2 output_size);

// Probabilities and losses.
Var softmax(const Var& x, std::ptrdiff_t axis = -1);
Var log_softmax(const Var& x, std::ptrdiff_t axis = -1);
/// Mean over the batch of −log softmax(logits)[i, class_i].
/// logits (N, C); classes has N entries in [0, C). Gradient (softmax(logits) − onehot) / N.
Var softmax_cross_entropy(const Var& logits, const std::vector<std::size_t>& classes);
/// The same, for a braced list of classes: softmax_cross_entropy(logits, {2, 0, 1}).
inline Var softmax_cross_entropy(const Var& logits, std::initializer_list<std::size_t> classes) {
    return softmax_cross_entropy(logits, std::vector<std::size_t>(classes));
}
/// The same with targets (N, C) given as one-hot rows or probabilities.
Var softmax_cross_entropy(const Var& logits, const Var& targets);
/// Mean of max(z, 0) − z·t + log(1 + e^−|z|), stable for any z; gradient (sigmoid(z) − t) / n.
Var binary_cross_entropy_with_logits(const Var& logits, const Var& targets);
/// Mean squared error, mean((prediction − target)²).
Var mse(const Var& prediction, const Var& target);

/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1 − p);
/// the identity when `training` is false. Randomness comes only from `generator`.
Var dropout(const Var& x, double p, Generator& generator, bool training = true);

}  // namespace xg
