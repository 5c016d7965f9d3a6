// xg::dist on two processes: meson runs this program under `mpirun -np 2`. Every test case runs on both ranks at
// once, making the same collective calls; only rank 0 prints doctest's report, and the program fails on every rank
// if a check failed on any.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>

namespace dist = xg::dist;
namespace nn = xg::nn;

namespace {

dist::Environment* environment = nullptr;  // main's

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

// fit with Adam on `data` for `epochs` epochs of `batch` rows in a seeded order, on this process alone or, given the
// group, on its share of each batch.
xg::History fit_blobs(nn::Sequential& model, const xg::data::Dataset& data, const xg::data::Dataset& validation,
                      std::size_t batch, std::size_t epochs, xg::ProcessGroup* group, xg::FitOptions options = {}) {
    xg::optim::Adam adam(model.parameters(), {.lr = 0.05});
    options.epochs = epochs;
    options.loader = {.batch_size = batch, .seed = 11};
    options.validation = &validation;
    if (options.progress == xg::Progress::automatic) options.progress = xg::Progress::none;
    options.process_group = group;
    return xg::fit(model, adam, data, options);
}

// Every record's measures, which the group's run and one process's must share.
void check_same_records(const xg::History& a, const xg::History& b) {
    REQUIRE(a.epochs.size() == b.epochs.size());
    for (std::size_t e = 0; e < a.epochs.size(); ++e) {
        CHECK(a.epochs[e].epoch == b.epochs[e].epoch);
        CHECK(std::abs(a.epochs[e].train_loss - b.epochs[e].train_loss) < 1e-12);
        CHECK(a.epochs[e].train_accuracy == b.epochs[e].train_accuracy);
        CHECK(std::abs(a.epochs[e].validation_loss - b.epochs[e].validation_loss) < 1e-12);
        CHECK(a.epochs[e].validation_accuracy == b.epochs[e].validation_accuracy);
        CHECK(a.epochs[e].batches == b.epochs[e].batches);
    }
}

// A directory both processes name alike (after rank 0's process id), made empty.
std::filesystem::path shared_directory(const char* name) {
    const auto id = static_cast<long>(dist::sum(dist::rank() == 0 ? static_cast<double>(::getpid()) : 0.0));
    const std::filesystem::path directory =
        std::filesystem::temp_directory_path() / fmt::format("xgrad_{}_{}", name, id);
    if (dist::rank() == 0) {
        std::filesystem::remove_all(directory);
        std::filesystem::create_directories(directory);
    }
    dist::sum(0.0);  // made before either process uses it
    return directory;
}

std::string file_text(std::FILE* file) {
    std::rewind(file);
    std::string text;
    for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) text += static_cast<char>(c);
    return text;
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

TEST_CASE("the Environment as a process group: its traffic counts each call and the bytes of values it sent") {
    REQUIRE(environment->size() == 2);
    CHECK(environment->rank() == static_cast<std::size_t>(dist::rank()));
    std::vector<double> values{1.0, static_cast<double>(dist::rank())};
    const dist::Traffic before = environment->traffic();
    environment->sum(values);
    CHECK(values == std::vector<double>{2.0, 1.0});
    nn::Sequential model = small_network(1);
    xg::softmax_cross_entropy(model(xg::ones({2, 4}, xg::Dtype::float64)), {0, 1}).backward();
    environment->average_gradients(model.parameters());
    const dist::Traffic after = environment->traffic();
    CHECK(after.calls == before.calls + 2);
    // Two sums' doubles, and 67 float64 gradient elements with the count of processes missing one.
    CHECK(after.bytes == before.bytes + 2 * 8 + 68 * 8);
    CHECK(after.seconds > before.seconds);
}

TEST_CASE("fit on two processes takes one process's steps on batches twice as large, and measures the same") {
    xg::Generator generator(3);
    const xg::data::Dataset data = xg::data::make_blobs(40, 3, 4, generator);
    const xg::data::Dataset validation = xg::data::make_blobs(30, 3, 4, generator);
    // Different starting weights on each process: fit starts them all from rank 0's.
    nn::Sequential group_model = small_network(7 + static_cast<std::uint64_t>(dist::rank())), alone = small_network(7);
    const xg::History group_history = fit_blobs(group_model, data, validation, 5, 3, environment);
    const xg::History alone_history = fit_blobs(alone, data, validation, 10, 3, nullptr);
    CHECK(largest_difference(group_model, alone) < 1e-12);
    CHECK(largest_difference(group_model, small_network(7)) > 0.01);  // it trained
    check_same_records(group_history, alone_history);
    CHECK(group_history.epochs.back().train_accuracy > 0.9);

    // Each process shares the training of a batch of 5 rows: one of 10 once the gradients are averaged.
    nn::Sequential accumulated = small_network(7);
    fit_blobs(accumulated, data, validation, 5, 3, environment, {.accumulate_grad_batches = 2});
    nn::Sequential accumulated_alone = small_network(7);
    fit_blobs(accumulated_alone, data, validation, 10, 3, nullptr, {.accumulate_grad_batches = 2});
    CHECK(largest_difference(accumulated, accumulated_alone) < 1e-12);
}

TEST_CASE("fit on two processes: process 0 alone prints and writes; a checkpoint resumes on one process or on two") {
    xg::Generator generator(3);
    const xg::data::Dataset data = xg::data::make_blobs(40, 3, 4, generator);
    const xg::data::Dataset validation = xg::data::make_blobs(30, 3, 4, generator);
    const std::filesystem::path directory = shared_directory("fit_files");
    const std::string rank = std::to_string(dist::rank());
    // Each process is given its own paths, so that what process 1 would have written shows.
    std::FILE* output = std::tmpfile();
    REQUIRE(output);
    nn::Sequential first_two = small_network(7);
    fit_blobs(first_two, data, validation, 5, 2, environment,
              {.progress = xg::Progress::lines, .output = output,
               .history_csv = (directory / ("history" + rank + ".csv")).string(),
               .checkpoint = (directory / ("checkpoint" + rank + ".npz")).string()});
    const std::string printed = file_text(output);
    std::fclose(output);
    if (dist::rank() == 0) {
        CHECK(printed.find("epoch 2/2") != std::string::npos);
        CHECK(std::filesystem::exists(directory / "history0.csv"));
        CHECK(std::filesystem::exists(directory / "checkpoint0.npz"));
    } else {
        CHECK(printed.empty());
        CHECK_FALSE(std::filesystem::exists(directory / "history1.csv"));
        CHECK_FALSE(std::filesystem::exists(directory / "checkpoint1.npz"));
    }
    dist::sum(0.0);  // both have looked before the files change

    nn::Sequential three_alone = small_network(7);
    const xg::History reference = fit_blobs(three_alone, data, validation, 10, 3, nullptr);
    const std::string checkpoint = (directory / "checkpoint0.npz").string();
    // Two processes' epochs 1 and 2, then epoch 3 on one process.
    nn::Sequential resumed_alone = small_network(99);
    const xg::History alone_history =
        fit_blobs(resumed_alone, data, validation, 10, 3, nullptr, {.resume_from = checkpoint});
    CHECK(largest_difference(resumed_alone, three_alone) < 1e-12);
    REQUIRE(alone_history.epochs.size() == 1);
    check_same_records(alone_history, xg::History{{reference.epochs[2]}});

    // One process's epochs 1 and 2, then epoch 3 on two processes.
    const std::string own_checkpoint = (directory / ("alone" + rank + ".npz")).string();
    nn::Sequential two_alone = small_network(7);
    fit_blobs(two_alone, data, validation, 10, 2, nullptr, {.checkpoint = own_checkpoint});
    nn::Sequential resumed_together = small_network(99);
    fit_blobs(resumed_together, data, validation, 5, 3, environment, {.resume_from = own_checkpoint});
    CHECK(largest_difference(resumed_together, three_alone) < 1e-12);

    dist::sum(0.0);
    if (dist::rank() == 0) std::filesystem::remove_all(directory);
}

TEST_CASE("fit on two processes: what one process finds ends or stops the run on both") {
    xg::Generator generator(3);
    const xg::data::Dataset data = xg::data::make_blobs(40, 3, 4, generator);
    const xg::data::Dataset validation = xg::data::make_blobs(30, 3, 4, generator);
    nn::Sequential model = small_network(7);

    // A non-finite loss on process 1 alone.
    int losses = 0;
    const xg::LossFunction nan_on_one = [&](const xg::Var& output, const xg::data::Batch& batch) {
        const xg::Var loss = xg::softmax_cross_entropy(output, batch.labels);
        return dist::rank() == 1 && ++losses == 2 ? loss * std::numeric_limits<double>::quiet_NaN() : loss;
    };
    CHECK(message_of([&] { fit_blobs(model, data, validation, 5, 1, environment, {.loss = nan_on_one}); }) ==
          "fit: the loss of epoch 1 batch 2/4 is nan; lower the learning rate (now 0.05)");

    // A checkpoint that process 1 cannot read.
    const std::filesystem::path directory = shared_directory("fit_failures");
    const std::string saved = (directory / "saved.npz").string();
    fit_blobs(model, data, validation, 5, 1, environment, {.checkpoint = saved});
    const std::string resume_from = dist::rank() == 0 ? saved : (directory / "missing.npz").string();
    const std::string message =
        message_of([&] { fit_blobs(model, data, validation, 5, 2, environment, {.resume_from = resume_from}); });
    if (dist::rank() == 0)
        CHECK(message == "fit: another process could not resume from '" + saved + "'; its error says why");
    else
        CHECK(message.find(resume_from) != std::string::npos);
    dist::sum(0.0);
    if (dist::rank() == 0) std::filesystem::remove_all(directory);

    // A Ctrl-C that reaches process 1 alone, in its callback after batch 2: both hear of it with batch 3's sums and
    // stop after it.
    const xg::History interrupted = fit_blobs(model, data, validation, 5, 2, environment,
                                              {.on_batch_end = [](const xg::BatchEnd& end) {
                                                  if (dist::rank() == 1 && end.batch == 1) std::raise(SIGINT);
                                              }});
    CHECK(interrupted.interrupted);
    REQUIRE(interrupted.epochs.size() == 1);
    CHECK(interrupted.epochs[0].batches == 3);

    // A callback that asks process 1 alone to stop.
    const xg::History stopped = fit_blobs(model, data, validation, 5, 3, environment,
                                          {.on_epoch_end = [](const xg::EpochRecord&) { return dist::rank() == 0; }});
    CHECK(stopped.epochs.size() == 1);

    CHECK(message_of([&] {
              xg::FitOptions options;
              options.loader.shards = 2;
              xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
              options.process_group = environment;
              xg::fit(model, sgd, data, options);
          }) == "fit: with a process_group, the group deals the shares; leave loader.shards and loader.shard at 1 "
                "and 0");
}

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    environment = &mpi;
    doctest::Context context(argc, argv);
    context.setOption("no-colors", true);  // test.sh reads the summary line
    if (dist::rank() != 0) context.setOption("out", "/dev/null");
    const int failed = context.run() != 0 ? 1 : 0;
    return dist::sum(failed) > 0 ? 1 : 0;
}
