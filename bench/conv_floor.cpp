// The GEMM floor of one MNIST epoch of the book's SimpleConvNet (conv 30@5×5 → ReLU → max-pool 2 → 4320-100 →
// ReLU → 100-10): only the matrix products of training, 60000/B steps of
//   conv:    Y (30 × B·576) = W (30 × 25) · columns (25 × B·576)         forward
//            dW (30 × 25) = G (30 × B·576) · columnsᵀ                   backward (no input gradient: it is the data)
//   affine:  forward, dW = Aᵀ·G and dX = G·Wᵀ for 4320→100 and 100→10    (as gemm_floor.cpp)
// The unfolding (im2col) that fills `columns` is left out, as are activations, pooling, loss, bias and update: no
// framework can train this epoch faster on the same BLAS. compare.py --cnn runs it beside cnn_epoch and PyTorch.
//   conv_floor --batch 100 --threads 2 --epochs 3
// prints the best epoch, one line per way of using the threads and of shaping the convolution's products:
//   floor mode=openblas,whole-batch threads=2 seconds=1.2345
//   floor mode=split-batch,whole-batch threads=2 seconds=1.1000    (threads > 1 only)
//   floor mode=openblas,per-image threads=2 seconds=1.2000
//   ...
// openblas and split-batch are the two ways of using the threads (print_floors in floor.hpp). whole-batch: each
// convolution product spans the batch's images (the fewest, largest GEMMs); per-image: one product per image, as
// cnn_epoch's conv2d makes them.
#include "floor.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int train_rows = 60000;
constexpr int filters = 30, patch = 25, positions = 24 * 24, pooled = filters * 12 * 12, hidden = 100,
              classes = 10;

struct Weights {
    std::vector<float> conv = buffer(filters * patch), hidden_layer = buffer(std::size_t{pooled} * hidden),
                       output_layer = buffer(hidden * classes);
};

// One worker's arrays for `rows` images of a batch.
struct Workspace {
    int rows;
    std::vector<float> columns, conv_out, conv_grad, conv_weight_grad, pooled_in, pooled_grad, hidden_out,
        hidden_grad, hidden_weight_grad, logits, logits_grad, output_weight_grad;

    explicit Workspace(int r)
        : rows(r), columns(buffer(std::size_t(patch) * positions * r)),
          conv_out(buffer(std::size_t(filters) * positions * r)),
          conv_grad(buffer(std::size_t(filters) * positions * r)), conv_weight_grad(buffer(filters * patch)),
          pooled_in(buffer(std::size_t(pooled) * r)), pooled_grad(buffer(std::size_t(pooled) * r)),
          hidden_out(buffer(std::size_t(hidden) * r)), hidden_grad(buffer(std::size_t(hidden) * r)),
          hidden_weight_grad(buffer(std::size_t(pooled) * hidden)), logits(buffer(std::size_t(classes) * r)),
          logits_grad(buffer(std::size_t(classes) * r)), output_weight_grad(buffer(hidden * classes)) {}
};

// An affine layer's three products, row-major (rows × in) · (in × out), as gemm_floor.cpp's step.
void affine_forward(int rows, int in, int out, const float* x, const float* w, float* y) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, out, in, 1, x, in, w, out, 0, y, out);
}

void affine_backward(int rows, int in, int out, const float* x, const float* w, const float* g, float* dw,
                     float* dx) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, rows, 1, x, in, g, out, 0, dw, out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, in, out, 1, g, out, w, out, 0, dx, in);
}

// The convolution's products: over the whole batch at once, or image by image (the weight gradient summed over
// them), which is how cnn_epoch's conv2d calls them.
void convolution_forward(const Weights& w, Workspace& s, bool per_image) {
    const int images = per_image ? s.rows : 1, columns = (per_image ? 1 : s.rows) * positions;
    for (int i = 0; i < images; ++i)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, filters, columns, patch, 1, w.conv.data(), patch,
                    s.columns.data() + i * patch * columns, columns, 0, s.conv_out.data() + i * filters * columns,
                    columns);
}

void convolution_weight_gradient(Workspace& s, bool per_image) {
    const int images = per_image ? s.rows : 1, columns = (per_image ? 1 : s.rows) * positions;
    for (int i = 0; i < images; ++i)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, filters, patch, columns, 1,
                    s.conv_grad.data() + i * filters * columns, columns, s.columns.data() + i * patch * columns,
                    columns, i == 0 ? 0 : 1, s.conv_weight_grad.data(), patch);
}

void train_step_products(const Weights& w, Workspace& s, bool per_image) {
    convolution_forward(w, s, per_image);
    affine_forward(s.rows, pooled, hidden, s.pooled_in.data(), w.hidden_layer.data(), s.hidden_out.data());
    affine_forward(s.rows, hidden, classes, s.hidden_out.data(), w.output_layer.data(), s.logits.data());
    affine_backward(s.rows, hidden, classes, s.hidden_out.data(), w.output_layer.data(), s.logits_grad.data(),
                    s.output_weight_grad.data(), s.hidden_grad.data());
    affine_backward(s.rows, pooled, hidden, s.pooled_in.data(), w.hidden_layer.data(), s.hidden_grad.data(),
                    s.hidden_weight_grad.data(), s.pooled_grad.data());
    convolution_weight_gradient(s, per_image);
}

double best_epoch(const FloorOptions& o, const Weights& weights, int workers, bool per_image) {
    std::vector<Workspace> workspaces;
    for (int rows : worker_rows(o.batch, workers)) workspaces.emplace_back(rows);
    const int steps = train_rows / o.batch;
    const auto run = [&](int worker) {
        for (int s = 0; s < steps; ++s) train_step_products(weights, workspaces[worker], per_image);
    };
    return best_epoch_seconds(o.epochs, workers, run, [] {});
}

FloorOptions parse(int argc, char** argv) {
    FloorOptions o;
    Flags flags(argc, argv);
    o.read(flags);
    flags.finish();
    o.check();
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const FloorOptions o = parse(argc, argv);
    const Weights weights;
    for (const bool per_image : {false, true})
        print_floors("floor", per_image ? ",per-image" : ",whole-batch", o.threads,
                     [&](int workers) { return best_epoch(o, weights, workers, per_image); });
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "conv_floor: %s\n", e.what());
    return 2;
}
