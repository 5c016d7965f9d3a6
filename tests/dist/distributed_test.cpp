// xg::dist on two processes: meson runs this program under `mpirun -np 2`. Every test case runs on both ranks at
// once, making the same collective calls; only rank 0 prints doctest's report, and the program fails on every rank
// if a check failed on any.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <string>

namespace dist = xg::dist;
namespace nn = xg::nn;

namespace {

// The message of the xg::Error that `f` throws, or "" if it throws none.
template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const xg::Error& e) {
        return e.what();
    }
    return "";
}

nn::Sequential small_network(std::uint64_t seed) {
    xg::Generator generator(seed);
    return nn::Sequential(nn::Linear(4, 8, generator, true, xg::Dtype::float64), nn::Tanh(),
                          nn::Linear(8, 3, generator, true, xg::Dtype::float64));
}

// `steps` SGD steps on batches of `batch` rows of `data`, in file order, averaging the gradients over the processes
// when `shards` > 1 (each process then serves its share of every batch).
void train(nn::Sequential& model, const xg::data::Dataset& data, std::size_t batch, std::size_t shards, int steps) {
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.5});
    xg::data::DataLoader loader(data, {.batch_size = batch / shards, .shuffle = false, .shards = shards,
                                       .shard = shards > 1 ? static_cast<std::size_t>(dist::rank()) : 0});
    int step = 0;
    while (step < steps)
        for (const xg::data::Batch& b : loader) {
            if (step++ == steps) break;
            sgd.zero_grad();
            xg::softmax_cross_entropy(model(b.inputs.to(xg::Dtype::float64)), b.labels).backward();
            if (shards > 1) dist::average_gradients(model.parameters());
            sgd.step();
        }
}

double largest_difference(const nn::Module& a, const nn::Module& b) {
    double largest = 0.0;
    const std::vector<xg::Var> pa = a.parameters(), pb = b.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i)
        largest = std::max(largest, xt::amax(xt::abs(pa[i].value<double>() - pb[i].value<double>()))());
    return largest;
}

}  // namespace

TEST_CASE("rank, world_size and sum over the processes") {
    REQUIRE(dist::world_size() == 2);
    CHECK((dist::rank() == 0 || dist::rank() == 1));
    CHECK(dist::sum(dist::rank() + 1.0) == 3.0);
}

TEST_CASE("broadcast: every process gets rank 0's values; a tensor that differs is named on every rank") {
    nn::Sequential model = small_network(100 + static_cast<std::uint64_t>(dist::rank()));
    dist::broadcast(model.parameters());
    CHECK(largest_difference(model, small_network(100)) == 0.0);

    const xg::Var mine = dist::rank() == 0 ? xg::zeros({3, 2}) : xg::zeros({2, 3});
    const std::string message = message_of([&] { dist::broadcast({mine}); });
    if (dist::rank() == 0)
        CHECK(message == "dist::broadcast: the tensors of another rank differ from rank 0's");
    else
        CHECK(message == "dist::broadcast: tensor 0 ((2, 3), float32) on rank 1 differs from rank 0's");
    const std::vector<xg::Var> fewer = dist::rank() == 0 ? std::vector<xg::Var>{mine} : std::vector<xg::Var>{};
    const std::string short_list = message_of([&] { dist::broadcast(fewer); });
    if (dist::rank() == 0)
        CHECK(short_list == "dist::broadcast: the tensors of another rank differ from rank 0's");
    else
        CHECK(short_list == "dist::broadcast: rank 1 has 0 tensors, fewer than rank 0");
    CHECK(message_of([] { dist::broadcast({}, 2); }) == "dist::broadcast: root 2 is not a rank of 2 processes");
}

TEST_CASE("average_gradients: two processes on halves of each batch take one process's steps") {
    xg::Generator generator(3);
    const xg::data::Dataset data = xg::data::make_blobs(40, 3, 4, generator);
    nn::Sequential together = small_network(7), reference = small_network(7);
    train(together, data, 10, 2, 8);
    train(reference, data, 10, 1, 8);  // the whole batch on each process, no communication
    CHECK(largest_difference(together, reference) < 1e-12);
    CHECK(largest_difference(together, small_network(7)) > 0.01);  // it trained

}

TEST_CASE("average_gradients: buckets of any size give the same means; a missing gradient is named on every rank") {
    xg::Generator generator(5);
    const xg::data::Dataset data = xg::data::make_blobs(10, 3, 4, generator);
    xg::data::DataLoader loader(data, {.batch_size = 5, .shuffle = false, .shards = 2,
                                       .shard = static_cast<std::size_t>(dist::rank())});
    const xg::data::Batch& batch = *loader.begin();
    nn::Sequential one_bucket = small_network(9), bucket_each = small_network(9);
    for (nn::Sequential* model : {&one_bucket, &bucket_each})
        xg::softmax_cross_entropy((*model)(batch.inputs.to(xg::Dtype::float64)), batch.labels).backward();
    dist::average_gradients(one_bucket.parameters());
    dist::average_gradients(bucket_each.parameters(), 8);  // smaller than any gradient: one bucket each
    const std::vector<xg::Var> a = one_bucket.parameters(), b = bucket_each.parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].grad().value<double>() == b[i].grad().value<double>());
    // Each process's gradient differs (its own rows); the means agree to the last bit.
    CHECK(dist::sum(a[0].grad().value<double>()(0, 0)) == 2.0 * a[0].grad().value<double>()(0, 0));

    nn::Sequential fresh = small_network(9);
    if (dist::rank() == 0)
        xg::softmax_cross_entropy(fresh(batch.inputs.to(xg::Dtype::float64)), batch.labels).backward();
    const std::string message = message_of([&] { dist::average_gradients(fresh.parameters()); });
    if (dist::rank() == 0)
        CHECK(message == "dist::average_gradients: a tensor has no gradient on another rank");
    else
        CHECK(message == "dist::average_gradients: tensor 0 ((4, 8), float64) has no gradient on rank 1; every "
                         "process must run backward through it first");
}

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    doctest::Context context(argc, argv);
    context.setOption("no-colors", true);  // test.sh reads the summary line
    if (dist::rank() != 0) context.setOption("out", "/dev/null");
    const int failed = context.run() != 0 ? 1 : 0;
    return dist::sum(failed) > 0 ? 1 : 0;
}
