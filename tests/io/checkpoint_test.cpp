// .npz files and checkpoints: bit-exact round trips, numpy compatibility both ways, resumed training equal to
// uninterrupted training, and a clear error for each way a file can be wrong.
#include "check.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

using xg::Var;
namespace nn = xg::nn;
namespace optim = xg::optim;
namespace fs = std::filesystem;

using check::TempDir;

namespace {

bool same_bits(const Var& a, const Var& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    if (a.size() == 0) return true;  // memcmp must not see an empty array's null data()
    if (a.dtype() == xg::Dtype::float32)
        return std::memcmp(a.value<float>().data(), b.value<float>().data(), a.size() * 4) == 0;
    return std::memcmp(a.value<double>().data(), b.value<double>().data(), a.size() * 8) == 0;
}

struct Net : nn::Module {
    std::shared_ptr<nn::Linear> fc1, fc2;
    std::shared_ptr<nn::BatchNorm1d> bn;
    explicit Net(std::uint64_t seed, std::size_t hidden = 5) {
        xg::Generator g(seed);
        fc1 = register_module("fc1", nn::Linear(4, hidden, g));
        bn = register_module("bn", nn::BatchNorm1d(hidden));
        fc2 = register_module("fc2", nn::Linear(hidden, 3, g));
    }
    Var forward(const Var& x) override { return (*fc2)(xg::relu((*bn)((*fc1)(x)))); }
};

struct Data {
    Var x;
    std::vector<std::size_t> y;
    Data() {
        xg::Generator g(99);
        x = xg::randn({16, 4}, g);
        for (int i = 0; i < 16; ++i) y.push_back(g.below(3));
    }
};

double train_step(Net& net, optim::Optimizer& opt, const Data& data) {
    opt.zero_grad();
    Var loss = xg::softmax_cross_entropy(net(data.x), data.y);
    loss.backward();
    opt.step();
    return loss.item();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a Python snippet with the numpy-equipped interpreter meson found; 0 on success.
int python(const std::string& script) {
    const char* interpreter = std::getenv("XGRAD_TEST_PYTHON");
    return std::system((std::string(interpreter ? interpreter : "python3") + " -c \"" + script + "\"").c_str());
}

}  // namespace

TEST_CASE("save_npz → load_npz is bit-exact for float32 and float64 of any rank") {
    TempDir dir;
    xg::Generator g(1);
    const xg::Named<Var> arrays = {{"scalar", Var(3.25)},
                                   {"vector", xg::randn({7}, g)},
                                   {"matrix", xg::randn({3, 5}, g, xg::Dtype::float64)},
                                   {"cube", xg::randn({2, 3, 4}, g)},
                                   {"empty", xg::zeros({0, 3})}};
    xg::save_npz(dir / "a.npz", arrays);
    const auto loaded = xg::load_npz(dir / "a.npz");
    REQUIRE(loaded.size() == arrays.size());
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        CAPTURE(arrays[i].first);
        CHECK(loaded[i].first == arrays[i].first);
        CHECK(same_bits(loaded[i].second, arrays[i].second));
    }
    CHECK(dir.files() == std::vector<std::string>{"a.npz"});  // no temporary left behind
}

TEST_CASE("numpy reads what we write and we read what numpy writes") {
    REQUIRE_MESSAGE(python("import numpy") == 0, "python3 with numpy is needed (scripts/setup.sh installs it)");
    TempDir dir;
    Var m(xt::xarray<double>{{1.5, -2.0, 3.0}, {0.25, 0.0, -1e-300}});
    Var v(xt::xarray<float>{1.0f, 2.5f});
    xg::save_npz(dir / "ours.npz", {{"fc1.weight", m}, {"v", v}});
    CHECK(python("import numpy as np; d = np.load('" + (dir / "ours.npz") +
                 "'); assert sorted(d.files) == ['fc1.weight', 'v'], d.files; "
                 "assert d['fc1.weight'].dtype == np.float64 and d['fc1.weight'].shape == (2, 3); "
                 "assert (d['fc1.weight'] == [[1.5, -2.0, 3.0], [0.25, 0.0, -1e-300]]).all(); "
                 "assert d['v'].dtype == np.float32 and list(d['v']) == [1.0, 2.5]") == 0);

    CHECK(python("import numpy as np; "
                 "np.savez('" + (dir / "plain.npz") + "', a=np.arange(6, dtype=np.float32).reshape(2, 3), b=np.float64(7)); "
                 "np.savez_compressed('" + (dir / "packed.npz") + "', c=np.linspace(0, 1, 1000))") == 0);
    const auto plain = xg::load_npz(dir / "plain.npz");
    REQUIRE(plain.size() == 2);
    CHECK(plain[0].first == "a");
    CHECK(plain[0].second.value<float>() == xt::xarray<float>{{0, 1, 2}, {3, 4, 5}});
    CHECK(plain[1].second.shape() == xg::Shape{});
    CHECK(plain[1].second.item() == 7.0);
    const auto packed = xg::load_npz(dir / "packed.npz");
    CHECK(packed[0].second.shape() == xg::Shape{1000});
    CHECK(packed[0].second.value<double>()(999) == 1.0);
}

TEST_CASE("load_npz reads Fortran-order arrays as the arrays numpy saved, row-major") {
    REQUIRE_MESSAGE(python("import numpy") == 0, "python3 with numpy is needed (scripts/setup.sh installs it)");
    TempDir dir;
    const std::string path = dir / "fortran.npz";
    // The asserts make sure numpy wrote every entry in Fortran order, not a C-order copy.
    REQUIRE(python("import numpy as np, zipfile; np.savez('" + path +
                   "', m=np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)), "
                   "t=np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)), "
                   "i=np.asfortranarray(np.arange(-3, 3, dtype=np.int16).reshape(3, 2)), "
                   "b=np.asfortranarray(np.arange(6.0).reshape(2, 3).astype('>f8'))); "
                   "z = zipfile.ZipFile('" + path + "'); "
                   "assert all(b'\\'fortran_order\\': True' in z.read(n) for n in z.namelist()), z.namelist()") == 0);
    const auto loaded = xg::load_npz(path);
    REQUIRE(loaded.size() == 4);
    CHECK(loaded[0].first == "m");
    CHECK(loaded[0].second.dtype() == xg::Dtype::float32);
    CHECK(loaded[0].second.value<float>() == xt::xarray<float>{{0, 1, 2}, {3, 4, 5}});
    CHECK(loaded[1].second.dtype() == xg::Dtype::float64);
    CHECK(loaded[1].second.value<double>() == xt::xarray<double>(xt::reshape_view(xt::arange(24.0), {2, 3, 4})));
    CHECK(loaded[2].second.value<float>() == xt::xarray<float>{{-3, -2}, {-1, 0}, {1, 2}});
    CHECK(loaded[3].second.value<double>() == xt::xarray<double>{{0, 1, 2}, {3, 4, 5}});
}

TEST_CASE("load_npz reads integer, bool and float16 arrays as the float dtype that holds them exactly") {
    REQUIRE_MESSAGE(python("import numpy") == 0, "python3 with numpy is needed (scripts/setup.sh installs it)");
    TempDir dir;
    // Every dtype xgrad reads, at its extremes, in both byte orders and both layouts; numpy's own conversion to
    // promote_types(dtype, float32), the rule load_npz follows, is saved beside it as the expected value.
    REQUIRE(python("import numpy as np; "
                   "half = np.arange(65536, dtype=np.uint16).view(np.float16); "
                   "a = dict(b=np.array([True, False, True]), "
                   "i1=np.array([-128, 0, 127], dtype=np.int8), u1=np.array([0, 200, 255], dtype=np.uint8), "
                   "i2=np.array([-32768, 32767], dtype=np.int16), u2=np.array([0, 65535], dtype='>u2'), "
                   "f2=half, f2_big=half.astype('>f2'), "
                   "i4=np.array([-2**31, 2**31 - 1], dtype='>i4'), u4=np.array([0, 2**32 - 1], dtype=np.uint32), "
                   "i8=np.array([-2**63, -2**53, 2**53, 2**62, 7], dtype='>i8'), "
                   "u8=np.array([0, 2**53, 2**64 - 2**11], dtype=np.uint64), "
                   "f4=np.array([0.1, -3.5e38, np.inf], dtype='>f4'), "
                   "i2_fortran=np.asfortranarray(np.arange(-12, 12, dtype='>i2').reshape(2, 3, 4)), "
                   "u1_fortran=np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(3, 2)), "
                   "i8_empty=np.zeros((0, 3), dtype=np.int64)); "
                   "np.savez('" + (dir / "typed.npz") + "', **a); "
                   "np.savez('" + (dir / "expected.npz") +
                   "', **{k: np.ascontiguousarray(v.astype(np.promote_types(v.dtype, np.float32))) "
                   "for k, v in a.items()})") == 0);
    const auto typed = xg::load_npz(dir / "typed.npz");
    const auto expected = xg::load_npz(dir / "expected.npz");
    REQUIRE(typed.size() == expected.size());
    const auto same_values = [](const Var& a, const Var& b) {
        if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
        const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!(std::isnan(x[i]) ? std::isnan(y[i]) : std::signbit(x[i]) == std::signbit(y[i]) && x[i] == y[i]))
                return false;
        return true;
    };
    const std::map<std::string, xg::Dtype> dtypes = {
        {"b", xg::Dtype::float32},  {"i1", xg::Dtype::float32},  {"u1", xg::Dtype::float32},
        {"i2", xg::Dtype::float32}, {"u2", xg::Dtype::float32},  {"f2", xg::Dtype::float32},
        {"f2_big", xg::Dtype::float32}, {"i4", xg::Dtype::float64}, {"u4", xg::Dtype::float64},
        {"i8", xg::Dtype::float64}, {"u8", xg::Dtype::float64},  {"f4", xg::Dtype::float32},
        {"i2_fortran", xg::Dtype::float32}, {"u1_fortran", xg::Dtype::float32}, {"i8_empty", xg::Dtype::float64}};
    for (std::size_t i = 0; i < typed.size(); ++i) {
        CAPTURE(typed[i].first);
        CHECK(typed[i].first == expected[i].first);
        CHECK(typed[i].second.dtype() == dtypes.at(typed[i].first));
        CHECK(same_values(typed[i].second, expected[i].second));
    }
    // A few values written out, so the check does not rest on numpy alone.
    CHECK(typed[0].second.value<float>() == xt::xarray<float>{1, 0, 1});
    // Integer labels back as class indices, as optim.md shows.
    CHECK(typed[2].second.to_vector<std::size_t>() == std::vector<std::size_t>{0, 200, 255});
    CHECK(typed[9].second.value<double>() == xt::xarray<double>{-0x1p63, -0x1p53, 0x1p53, 0x1p62, 7});
    CHECK(typed[10].second.value<double>() == xt::xarray<double>{0, 0x1p53, 0x1p64 - 0x1p11});
    CHECK(typed[11].second.value<float>()(0) == 0.1f);
    CHECK(typed[12].second.value<float>()(1, 2, 3) == 11.0f);
    const xt::xarray<float>& half = typed[5].second.value<float>();
    CHECK(half(0x3c00) == 1.0f);
    CHECK(half(0x0001) == 0x1p-24f);      // the smallest subnormal
    CHECK(half(0x83ff) == -0x1.ff8p-15f);  // the largest negative subnormal
    CHECK(half(0x7bff) == 65504.0f);
    CHECK(std::signbit(half(0x8000)));
    CHECK(std::isinf(half(0xfc00)));
    CHECK(std::isnan(half(0x7c01)));
}

TEST_CASE("load_npz refuses what a Var cannot hold, naming the entry, its dtype and how to convert it") {
    REQUIRE_MESSAGE(python("import numpy") == 0, "python3 with numpy is needed (scripts/setup.sh installs it)");
    TempDir dir;
    const auto refused = [&](const std::string& array) {
        const std::string path = dir / "refused.npz";
        REQUIRE(python("import numpy as np; np.savez('" + path + "', ok=np.ones(2), x=" + array + ")") == 0);
        return check::error_message([&] { xg::load_npz(path); });
    };
    const std::string prefix = "load_npz: '" + (dir / "refused.npz") + "' entry 'x.npy': ";
    const std::string other = " is not supported (only bool, int8 to int64, uint8 to uint64 and float16 to float64, "
                              "either byte order); convert it with numpy: np.savez(path, name=array.astype(np.";
    // The message for a 64-bit integer that float64 would round: the element, its value, and how to convert.
    const auto inexact = [&](const std::string& element_and_value) {
        return prefix + element_and_value +
               ", which float64 cannot hold exactly (it holds every integer up to 2^53); to read it rounded, convert "
               "it with numpy: np.savez(path, name=array.astype(np.float64))";
    };
    CHECK(refused("np.array([1, 2**53 + 1, 3])") == inexact("int64 element (1,) is 9007199254740993"));
    // In Fortran order (1, 0) comes before (0, 1), and the index names the first refused in the file.
    CHECK(refused("np.asfortranarray(np.array([[0, 2**53 + 1], [-2**53 - 1, 3]]))") ==
          inexact("int64 element (1, 0) is -9007199254740993"));
    CHECK(refused("np.array([0, 2**64 - 1], dtype='>u8')") ==
          inexact("uint64 element (1,) is 18446744073709551615"));
    CHECK(refused("np.array([1 + 2j])") ==
          prefix + "dtype '<c16' is complex, which a Var cannot hold; save the real and imaginary parts as two "
                   "arrays: np.savez(path, re=array.real, im=array.imag)");
    CHECK(refused("np.zeros(2, dtype=[('a', '<f4'), ('b', '<i8')])") ==
          prefix + "dtype [('a', '<f4'), ('b', '<i8')] is structured, which a Var cannot hold; save each field as its "
                   "own array: np.savez(path, field=array['field'])");
    CHECK(refused("np.array(['a', 'bc'])") == prefix + "dtype '<U2'" + other + "float32))");
    CHECK(refused("np.array([1, 'a'], dtype=object)") == prefix + "dtype '|O'" + other + "float32))");
    CHECK(refused("np.array(['2020-01-01'], dtype='datetime64[D]')") == prefix + "dtype '<M8[D]'" + other +
                                                                          "float32))");
    CHECK(refused("np.ones(2, dtype=np.longdouble)") == prefix + "dtype '<f16'" + other + "float64))");
    // numpy writes bools as bytes 0 and 1; another byte is a damaged file.
    CHECK(refused("np.array([0, 1, 2], dtype=np.uint8).view(np.bool_)") ==
          prefix + "bool element (2,) is byte 2, neither 0 nor 1");
    CHECK(refused("np.ones(2, dtype=np.float32)") == "no exception of the expected type");
}

TEST_CASE("a checkpoint restores model, buffers and optimizer: resumed training equals uninterrupted") {
    TempDir dir;
    const Data data;
    Net net(1);
    optim::Adam adam(net.parameters(), {.lr = 0.01});
    for (int i = 0; i < 5; ++i) train_step(net, adam, data);
    xg::save(dir / "ckpt.npz", net, adam);

    Net resumed(2);  // different weights, fresh optimizer
    optim::Adam resumed_adam(resumed.parameters(), {.lr = 0.5});
    xg::load(dir / "ckpt.npz", resumed, resumed_adam);
    const auto a = net.named_parameters(), b = resumed.named_parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].second, b[i].second));
    CHECK(same_bits(net.bn->running_var, resumed.bn->running_var));
    CHECK(resumed_adam.lr() == 0.01);

    for (int i = 0; i < 5; ++i) CHECK(train_step(net, adam, data) == train_step(resumed, resumed_adam, data));
    CHECK(same_bits(net.fc1->weight, resumed.fc1->weight));

    // numpy sees the same names.
    REQUIRE(python("import numpy") == 0);
    CHECK(python("import numpy as np; d = np.load('" + (dir / "ckpt.npz") +
                 "'); assert 'fc1.weight' in d.files and 'bn.running_mean' in d.files; "
                 "assert 'optimizer.fc1.weight.exp_avg_sq' in d.files and d['optimizer.fc1.weight.step'] == 5; "
                 "assert d['optimizer.group0.lr'] == 0.01") == 0);
}

TEST_CASE("a CNN's checkpoint: Sequential names its convolution's parameters, and they load bit for bit") {
    TempDir dir;
    const auto cnn = [](std::uint64_t seed) {
        xg::Generator g(seed);
        return nn::Sequential(nn::Conv2d(2, 3, {3, 3}, g), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                              nn::Linear(12, 3, g));
    };
    xg::Generator g(5);
    const Var x = xg::randn({4, 2, 6, 6}, g);
    const std::vector<std::size_t> y{0, 2, 1, 2};
    nn::Sequential net = cnn(1);
    optim::Adam adam(net.parameters(), {.lr = 0.01});
    const auto step = [&](nn::Sequential& model, optim::Adam& opt) {
        opt.zero_grad();
        Var loss = xg::softmax_cross_entropy(model(x), y);
        loss.backward();
        opt.step();
        return loss.item();
    };
    for (int i = 0; i < 3; ++i) step(net, adam);
    xg::save(dir / "cnn.npz", net, adam);

    nn::Sequential resumed = cnn(2);
    optim::Adam resumed_adam(resumed.parameters(), {.lr = 0.5});
    xg::load(dir / "cnn.npz", resumed, resumed_adam);
    const auto a = net.named_parameters(), b = resumed.named_parameters();
    REQUIRE(b.size() == 4);
    const std::vector<std::string> names{"0.weight", "0.bias", "4.weight", "4.bias"};
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(b[i].first == names[i]);
        CHECK(same_bits(a[i].second, b[i].second));
    }
    for (int i = 0; i < 3; ++i) CHECK(step(net, adam) == step(resumed, resumed_adam));

    REQUIRE(python("import numpy") == 0);
    CHECK(python("import numpy as np; d = np.load('" + (dir / "cnn.npz") +
                 "'); assert d['0.weight'].shape == (3, 2, 3, 3) and d['0.bias'].shape == (3,); "
                 "assert 'optimizer.0.weight.exp_avg' in d.files") == 0);
}

TEST_CASE("a checkpoint with the schedule resumes the learning-rate sequence where it stopped") {
    TempDir dir;
    const Data data;
    Net net(1);
    optim::SGD sgd(net.parameters(), {.lr = 0.2, .momentum = 0.9});
    optim::StepLR schedule(sgd, 2, 0.5);
    const auto run = [&](Net& n, optim::SGD& o, optim::StepLR& s) {
        const double loss = train_step(n, o, data);
        s.step();
        return loss;
    };
    for (int i = 0; i < 3; ++i) run(net, sgd, schedule);
    xg::save(dir / "ckpt.npz", net, sgd, schedule);

    Net resumed(2);
    optim::SGD resumed_sgd(resumed.parameters(), {.lr = 1.0, .momentum = 0.9});
    optim::StepLR resumed_schedule(resumed_sgd, 2, 0.5);
    xg::load(dir / "ckpt.npz", resumed, resumed_sgd, resumed_schedule);
    CHECK(resumed_schedule.steps() == 3);
    CHECK(resumed_schedule.base_lrs() == std::vector<double>{0.2});
    CHECK(resumed_sgd.lr() == 0.1);
    for (int i = 0; i < 4; ++i) {
        CHECK(run(net, sgd, schedule) == run(resumed, resumed_sgd, resumed_schedule));
        CHECK(resumed_sgd.lr() == sgd.lr());
    }
    CHECK(sgd.lr() == 0.2 * 0.125);  // t = 7

    Net plain(3);
    optim::SGD plain_sgd(plain.parameters(), {.lr = 0.2, .momentum = 0.9});
    xg::save(dir / "no_schedule.npz", plain, plain_sgd);
    CHECK_THROWS_WITH_AS(xg::load(dir / "no_schedule.npz", resumed, resumed_sgd, resumed_schedule),
                         ("load: '" + (dir / "no_schedule.npz") +
                          "': LRScheduler::load_state_dict: the state of StepLR(step_size=2, gamma=0.5) has no entry "
                          "'step' (expected () float64)")
                             .c_str(),
                         xg::Error);
    xg::load(dir / "ckpt.npz", plain, plain_sgd);  // schedule entries are ignored without a schedule
}

TEST_CASE("a model alone loads from a full checkpoint; an optimizer saved before any step loads too") {
    TempDir dir;
    Net net(1);
    optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
    xg::save(dir / "fresh.npz", net, sgd);
    Net other(3);
    optim::SGD other_sgd(other.parameters(), {.lr = 0.3, .momentum = 0.9});
    xg::load(dir / "fresh.npz", other, other_sgd);
    CHECK(other_sgd.lr() == 0.1);
    Net model_only(4);
    xg::load(dir / "fresh.npz", model_only);
    CHECK(same_bits(model_only.fc2->weight, net.fc2->weight));
}

TEST_CASE("each way a checkpoint can be wrong has its message, and a failed load changes nothing") {
    TempDir dir;
    Net net(1);
    xg::save(dir / "ckpt.npz", net);
    const std::string path = dir / "ckpt.npz";

    Net wide(2, 6);
    const Var before = wide.fc1->weight.detach();
    CHECK_THROWS_WITH_AS(xg::load(path, wide),
                         ("load: '" + path + "' entry 'fc1.weight' is (4, 5) float32, expected (4, 6) float32").c_str(),
                         xg::Error);
    CHECK(same_bits(before, wide.fc1->weight));

    // A model with only a Linear(4, 5) child, named `name`.
    struct OneLinear : nn::Module {
        explicit OneLinear(const std::string& name) {
            xg::Generator g(1);
            register_module(name, nn::Linear(4, 5, g));
        }
        Var forward(const Var& x) override { return x; }
    };
    OneLinear renamed("first"), smaller("fc1");
    CHECK_THROWS_WITH_AS(xg::load(path, renamed),
                         ("load: '" + path + "' has no entry 'first.weight' (expected (4, 5) float32)").c_str(), xg::Error);
    CHECK_THROWS_WITH_AS(xg::load(path, smaller),
                         ("load: '" + path + "' has an entry 'bn.weight' that the model does not have").c_str(), xg::Error);

    optim::Adam adam(net.parameters());
    CHECK_THROWS_WITH_AS(xg::load(path, net, adam),
                         ("load: '" + path + "': Adam::load_state_dict: the state has no entry 'group0.lr' (expected () float64)").c_str(),
                         xg::Error);
    optim::SGD sgd(net.parameters());
    xg::save(dir / "sgd.npz", net, sgd);
    Net trained(1);
    optim::Adam stepped(trained.parameters());
    train_step(trained, stepped, Data());
    xg::save(dir / "adam.npz", trained, stepped);
    CHECK_THROWS_WITH_AS(xg::load(dir / "adam.npz", net, sgd),
                         ("load: '" + (dir / "adam.npz") +
                          "': SGD::load_state_dict: the state has an entry 'bn.bias.exp_avg' that the SGD optimizer does not have")
                             .c_str(),
                         xg::Error);

    const std::string bytes = read_bytes(path);
    write_bytes(dir / "truncated.npz", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH_AS(xg::load(dir / "truncated.npz", net),
                         ("load_npz: cannot read '" + (dir / "truncated.npz") + "': Not a zip archive").c_str(),
                         xg::Error);

    // One flipped byte inside fc1.weight's data: the zip's CRC catches it.
    std::string corrupt = bytes;
    corrupt[bytes.find("fc1.weight.npy") + 14 + 128 + 8] ^= 0x55;
    write_bytes(dir / "corrupt.npz", corrupt);
    CHECK_THROWS_WITH_AS(xg::load(dir / "corrupt.npz", net),
                         ("load_npz: '" + (dir / "corrupt.npz") + "' entry 'fc1.weight.npy': CRC error").c_str(),
                         xg::Error);

    CHECK_THROWS_WITH_AS(xg::load(dir / "missing.npz", net),
                         ("load_npz: cannot read '" + (dir / "missing.npz") + "': No such file or directory").c_str(),
                         xg::Error);
}

TEST_CASE("writes are atomic: a failed save leaves the old checkpoint and no temporary file") {
    TempDir dir;
    Net net(1);
    xg::save(dir / "ckpt.npz", net);
    const std::string old = read_bytes(dir / "ckpt.npz");

    CHECK_THROWS_WITH_AS(xg::save_npz(dir / "ckpt.npz", {{"a", Var(1.0)}, {"a", Var(2.0)}}),
                         ("save_npz: '" + (dir / "ckpt.npz") + "': two arrays are named 'a'").c_str(), xg::Error);
    CHECK(read_bytes(dir / "ckpt.npz") == old);
    const std::string nowhere = dir / "no/such/dir/ckpt.npz";
    CHECK_THROWS_WITH_AS(xg::save(nowhere, net),
                         ("save_npz: '" + nowhere + "': cannot create a temporary file next to it: No such file or "
                                                    "directory")
                             .c_str(),
                         xg::Error);
    CHECK(dir.files() == std::vector<std::string>{"ckpt.npz"});

    // Overwriting replaces the whole file.
    Net other(5);
    xg::save(dir / "ckpt.npz", other);
    Net check(6);
    xg::load(dir / "ckpt.npz", check);
    CHECK(same_bits(check.fc1->weight, other.fc1->weight));
    CHECK(dir.files() == std::vector<std::string>{"ckpt.npz"});
}

TEST_CASE("a checkpoint's learning rates and step counts pass the checks construction makes; on failure nothing changes") {
    TempDir dir;
    Net net(1);
    optim::Adam adam(net.parameters(), {.lr = 0.01});
    optim::StepLR schedule(adam, 2, 0.5);
    train_step(net, adam, Data());
    schedule.step();
    const std::string path = dir / "ckpt.npz";
    xg::save(path, net, adam, schedule);
    const xg::Named<Var> good = xg::load_npz(path);

    Net fresh(2);
    optim::Adam fresh_adam(fresh.parameters(), {.lr = 0.3});
    optim::StepLR fresh_schedule(fresh_adam, 2, 0.5);
    const Var weight_before = fresh.fc1->weight.detach();
    const auto load_with = [&](const std::string& entry, double value) {
        xg::Named<Var> edited = good;
        for (auto& [name, v] : edited)
            if (name == entry) v = Var(value);
        xg::save_npz(dir / "edited.npz", edited);
        return check::error_message([&] { xg::load(dir / "edited.npz", fresh, fresh_adam, fresh_schedule); });
    };
    const std::string file = "load: '" + (dir / "edited.npz") + "': ";
    const std::string adam_state = file + "Adam::load_state_dict: the state entry '";
    const std::string schedule_state = file + "LRScheduler::load_state_dict: the state of StepLR(step_size=2, gamma=0.5) "
                                              "entry '";
    for (const double lr : {std::nan(""), -1.0, HUGE_VAL}) {
        CHECK(load_with("optimizer.group0.lr", lr) ==
              adam_state + "group0.lr': a learning rate must be a non-negative number, got " + fmt::format("{}", lr));
        CHECK(load_with("schedule.group0.base_lr", lr) ==
              schedule_state + "group0.base_lr': a learning rate must be a non-negative number, got " +
                  fmt::format("{}", lr));
    }
    for (const double steps : {std::nan(""), -1.0, 0.5, 1e30}) {
        CHECK(load_with("optimizer.fc1.weight.step", steps) ==
              adam_state + "fc1.weight.step': a step count must be a whole number from 0 to 2^53, got " +
                  fmt::format("{}", steps));
        CHECK(load_with("schedule.step", steps) ==
              schedule_state + "step': a step count must be a whole number from 0 to 2^53, got " +
                  fmt::format("{}", steps));
    }
    CHECK(same_bits(fresh.fc1->weight, weight_before));
    CHECK(fresh_adam.param_groups()[0].lr == 0.3);
    CHECK(fresh_schedule.steps() == 0);

    CHECK(load_with("schedule.step", 1.0) == "no exception of the expected type");
    CHECK(fresh_schedule.steps() == 1);
    CHECK(fresh_adam.param_groups()[0].lr == 0.01);
}

TEST_CASE("outside bytes decide no allocation: sizes and shapes are checked against what the file holds") {
    TempDir dir;
    const auto error = [&](const std::string& path) { return check::error_message([&] { xg::load_npz(path); }); };
    CHECK(error(dir.path.string()) == "load_npz: '" + dir.path.string() + "' is not a regular file");

    // An entry whose headers claim 4 GB in a file of a few hundred bytes.
    xg::save_npz(dir / "a.npz", {{"a", Var(1.0)}});
    std::string bytes = read_bytes(dir / "a.npz");
    const auto patch_u32 = [&](std::size_t at, std::uint32_t value) {
        for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>(value >> (8 * i));
    };
    const std::size_t central = bytes.find("PK\x01\x02");
    REQUIRE(bytes.compare(0, 4, "PK\x03\x04") == 0);
    REQUIRE(central != std::string::npos);
    patch_u32(22, 0xF0000000);           // the local header's uncompressed size
    patch_u32(central + 24, 0xF0000000);  // the central directory's
    write_bytes(dir / "claims.npz", bytes);
    CHECK(error(dir / "claims.npz") == "load_npz: '" + (dir / "claims.npz") +
                                           "' entry 'a.npy': claims 4026531840 bytes, more than its 136 compressed "
                                           "bytes can hold");

    // .npy headers whose shapes no array can have, written into a zip by Python's zipfile.
    REQUIRE(python("import numpy") == 0);
    const auto npy_error = [&](const std::string& shape, const std::string& descr = "<f8") {
        std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        header.append(117 - header.size(), ' ');
        header += '\n';
        write_bytes(dir / "a.npy", std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(118) + '\0' + header +
                                       std::string(8, '\0'));
        REQUIRE(python("import zipfile; zipfile.ZipFile('" + (dir / "crafted.npz") + "', 'w').write('" +
                       (dir / "a.npy") + "', 'a.npy')") == 0);
        return error(dir / "crafted.npz");
    };
    const std::string prefix = "load_npz: '" + (dir / "crafted.npz") + "' entry 'a.npy': ";
    CHECK(npy_error("(4294967296, 4294967296)") ==
          prefix + "shape (4294967296, 4294967296) is too large: its extents multiply past 2^63 bytes");
    CHECK(npy_error("(4611686018427387904,)", "<f4") ==
          prefix + "shape (4611686018427387904,) is too large: its extents multiply past 2^63 bytes");
    CHECK(npy_error("(0, 4294967296, 4294967296)") ==
          prefix + "shape (0, 4294967296, 4294967296) is too large: its extents multiply past 2^63 bytes");
    CHECK(npy_error("(-1, 3)") == prefix + "shape (-1, 3) is malformed");
    CHECK(npy_error("(99999999999999999999999,)") ==
          prefix + "shape (99999999999999999999999,) has an extent past 2^64");
    CHECK(npy_error("(5,)") == prefix + "float64 (5,) needs 40 data bytes from offset 128, the entry has 8");
    CHECK(npy_error("(1,)") == "no exception of the expected type");

    // Two entries of one name: numpy keeps the last, libzip refuses the archive.
    REQUIRE(python("import zipfile, warnings; warnings.simplefilter('ignore'); z = zipfile.ZipFile('" +
                   (dir / "twice.npz") + "', 'w'); z.write('" + (dir / "a.npy") + "', 'a.npy'); z.write('" +
                   (dir / "a.npy") + "', 'a.npy'); z.close()") == 0);
    CHECK(error(dir / "twice.npz") == "load_npz: cannot read '" + (dir / "twice.npz") +
                                          "': two entries have the same name");
}
