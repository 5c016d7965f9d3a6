// Optimizers on the seeds' f(x, y) = x²/20 + y² from (−7, 2), against their update rules written out by hand;
// schedules against their closed forms; clipping; the learning-rate range test.
#include "check.hpp"

#include <cmath>
#include <functional>

using xg::Var;
namespace optim = xg::optim;
namespace nn = xg::nn;

namespace {

// f(x, y) = x²/20 + y² and its gradient (x/10, 2y).
struct Point {
    double x, y;
};
Point gradient_at(Point p) { return {p.x / 10.0, 2.0 * p.y}; }

struct Problem {
    Var x = Var(-7.0, true), y = Var(2.0, true);
    std::vector<Var> params() const { return {x, y}; }
    // One step of `optimizer` from the current point; returns the new point.
    Point step(optim::Optimizer& optimizer) {
        optimizer.zero_grad();
        (x * x / 20.0 + y * y).backward();
        optimizer.step();
        return {x.item(), y.item()};
    }
};

// Runs `steps` steps with the optimizer and with the reference rule, checking they agree at every step.
void agree(optim::Optimizer& optimizer, Problem& problem, const std::function<Point(Point, int)>& reference,
           int steps = 30) {
    Point expected{-7.0, 2.0};
    for (int t = 1; t <= steps; ++t) {
        const Point got = problem.step(optimizer);
        expected = reference(expected, t);
        CAPTURE(t);
        CHECK(got.x == doctest::Approx(expected.x).epsilon(1e-12));
        CHECK(got.y == doctest::Approx(expected.y).epsilon(1e-12));
    }
}

}  // namespace

TEST_CASE("SGD: p ← p − lr·g (the seeds' lr 0.95 on f)") {
    Problem f;
    optim::SGD sgd(f.params(), {.lr = 0.95});
    const Point first = f.step(sgd);
    CHECK(first.x == doctest::Approx(-7.0 + 0.95 * 0.7));  // (−6.335, −1.8)
    CHECK(first.y == doctest::Approx(2.0 - 0.95 * 4.0));
    Problem g;
    optim::SGD again(g.params(), {.lr = 0.95});
    agree(again, g, [](Point p, int) {
        const Point d = gradient_at(p);
        return Point{p.x - 0.95 * d.x, p.y - 0.95 * d.y};
    });
}

TEST_CASE("Momentum: the seeds' v ← αv − ηg, p ← p + v (lr 0.1, α 0.9)") {
    Problem f;
    optim::Momentum momentum(f.params(), {.lr = 0.1});
    const Point first = f.step(momentum), second = f.step(momentum);
    CHECK(first.x == doctest::Approx(-6.93));  // v = (0.07, −0.4)
    CHECK(first.y == doctest::Approx(1.6));
    CHECK(second.x == doctest::Approx(-6.7977));  // v = (0.1323, −0.68)
    CHECK(second.y == doctest::Approx(0.92));
    Problem g;
    optim::Momentum again(g.params(), {.lr = 0.1});
    Point v{0, 0};
    agree(again, g, [&](Point p, int) {
        const Point d = gradient_at(p);
        v = {0.9 * v.x - 0.1 * d.x, 0.9 * v.y - 0.1 * d.y};
        return Point{p.x + v.x, p.y + v.y};
    });
}

TEST_CASE("Nesterov: b ← μb + g, p ← p − lr·(g + μb)") {
    Problem f;
    optim::Nesterov nesterov(f.params(), {.lr = 0.1});
    const Point first = f.step(nesterov);
    CHECK(first.x == doctest::Approx(-7.0 + 0.1 * 1.9 * 0.7));  // b = g: the step is 1.9·g
    CHECK(first.y == doctest::Approx(2.0 - 0.1 * 1.9 * 4.0));
    Problem g;
    optim::Nesterov again(g.params(), {.lr = 0.1});
    Point b{0, 0};
    agree(again, g, [&](Point p, int) {
        const Point d = gradient_at(p);
        b = {0.9 * b.x + d.x, 0.9 * b.y + d.y};
        return Point{p.x - 0.1 * (d.x + 0.9 * b.x), p.y - 0.1 * (d.y + 0.9 * b.y)};
    });
}

TEST_CASE("Adagrad: the seeds' h ← h + g², p ← p − lr·g / (√h + 1e-7) (lr 1.5)") {
    Problem f;
    optim::Adagrad adagrad(f.params(), {.lr = 1.5, .eps = 1e-7});
    const Point first = f.step(adagrad);
    CHECK(first.x == doctest::Approx(-5.5));  // a first step moves each coordinate by lr
    CHECK(first.y == doctest::Approx(0.5));
    Problem g;
    optim::Adagrad again(g.params(), {.lr = 1.5, .eps = 1e-7});
    Point h{0, 0};
    agree(again, g, [&](Point p, int) {
        const Point d = gradient_at(p);
        h = {h.x + d.x * d.x, h.y + d.y * d.y};
        return Point{p.x - 1.5 * d.x / (std::sqrt(h.x) + 1e-7), p.y - 1.5 * d.y / (std::sqrt(h.y) + 1e-7)};
    });
}

TEST_CASE("RMSprop: v ← αv + (1 − α)g², p ← p − lr·g / (√v + eps)") {
    Problem f;
    optim::RMSprop rmsprop(f.params(), {.lr = 0.01});
    const Point first = f.step(rmsprop);
    CHECK(first.x == doctest::Approx(-6.9));  // √(0.01·g²) = 0.1|g|: the step is 10·lr·sign(g)
    CHECK(first.y == doctest::Approx(1.9));
    Problem g;
    optim::RMSprop again(g.params(), {.lr = 0.01});
    Point v{0, 0};
    agree(again, g, [&](Point p, int) {
        const Point d = gradient_at(p);
        v = {0.99 * v.x + 0.01 * d.x * d.x, 0.99 * v.y + 0.01 * d.y * d.y};
        return Point{p.x - 0.01 * d.x / (std::sqrt(v.x) + 1e-8), p.y - 0.01 * d.y / (std::sqrt(v.y) + 1e-8)};
    });
}

TEST_CASE("Adam: bias-corrected moments (the seeds' lr 0.3, β 0.9 / 0.999, ε 1e-8)") {
    Problem f;
    optim::Adam adam(f.params(), {.lr = 0.3});
    const Point first = f.step(adam);
    CHECK(first.x == doctest::Approx(-6.7));  // m̂ = g, v̂ = g²: the first step is lr·sign(g)
    CHECK(first.y == doctest::Approx(1.7));
    Problem g;
    optim::Adam again(g.params(), {.lr = 0.3});
    Point m{0, 0}, v{0, 0};
    agree(again, g, [&](Point p, int t) {
        const Point d = gradient_at(p);
        m = {0.9 * m.x + 0.1 * d.x, 0.9 * m.y + 0.1 * d.y};
        v = {0.999 * v.x + 0.001 * d.x * d.x, 0.999 * v.y + 0.001 * d.y * d.y};
        const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.999, t);
        return Point{p.x - 0.3 * (m.x / c1) / (std::sqrt(v.x / c2) + 1e-8),
                     p.y - 0.3 * (m.y / c1) / (std::sqrt(v.y / c2) + 1e-8)};
    });
}

TEST_CASE("AdamW: p ← p·(1 − lr·λ) before the Adam step") {
    Problem f;
    optim::AdamW adamw(f.params(), {.lr = 0.3, .weight_decay = 0.01});
    const Point first = f.step(adamw);
    CHECK(first.x == doctest::Approx(-7.0 * 0.997 + 0.3));
    CHECK(first.y == doctest::Approx(2.0 * 0.997 - 0.3));
    // With L2 weight decay instead, Adam's normalization makes the first step lr·sign(g + λp) exactly.
    Problem g;
    optim::Adam l2(g.params(), {.lr = 0.3, .weight_decay = 0.01});
    const Point coupled = g.step(l2);
    CHECK(coupled.x == doctest::Approx(-6.7));
    CHECK(coupled.y == doctest::Approx(1.7));
}

TEST_CASE("SGD with weight decay, dampening and per-group learning rates") {
    Problem f;
    optim::SGD sgd({optim::ParamGroup{{f.x}, 0.1, {}}, optim::ParamGroup{{f.y}, {}, 0.5}},
                   {.lr = 0.01, .momentum = 0.5, .dampening = 0.5});
    CHECK(sgd.param_groups()[0].lr == 0.1);
    CHECK(sgd.param_groups()[1].lr == 0.01);
    CHECK(sgd.param_groups()[1].weight_decay == 0.5);
    const Point first = f.step(sgd);
    CHECK(first.x == doctest::Approx(-7.0 + 0.1 * 0.7));            // first step: b = g, no dampening
    CHECK(first.y == doctest::Approx(2.0 - 0.01 * (4.0 + 0.5 * 2.0)));  // g + λp
    const double bx = 0.5 * -0.7 + 0.5 * (first.x / 10.0);
    const Point second = f.step(sgd);
    CHECK(second.x == doctest::Approx(first.x - 0.1 * bx));
    sgd.set_lr(0.2);
    CHECK(sgd.param_groups()[1].lr == 0.2);
}

TEST_CASE("steps update in place: parameter and gradient arrays keep their memory") {
    xg::Generator g(1);
    nn::Linear fc(8, 4, g);
    optim::Adam adam(fc.parameters());
    Var x = xg::randn({16, 8}, g);
    const auto train_step = [&] {
        adam.zero_grad();
        xg::sum(fc(x) * fc(x)).backward();
        adam.step();
    };
    train_step();
    const float* weight = fc.weight.value<float>().data();
    const float* grad = fc.weight.grad().value<float>().data();
    for (int i = 0; i < 5; ++i) train_step();
    CHECK(fc.weight.value<float>().data() == weight);
    CHECK(fc.weight.grad().value<float>().data() == grad);
}

TEST_CASE("optimizer settings are checked") {
    Problem f;
    CHECK_THROWS_WITH_AS(optim::SGD(f.params(), {.lr = -1.0}), "SGD: lr must be a non-negative number, got -1", xg::Error);
    CHECK_THROWS_WITH_AS(optim::SGD(f.params(), {.nesterov = true}),
                         "SGD: Nesterov momentum needs momentum > 0 and dampening 0", xg::Error);
    CHECK_THROWS_WITH_AS(optim::Adam(f.params(), {.betas = {0.9, 1.0}}),
                         "Adam: betas.second must be in [0, 1), got 1", xg::Error);
    CHECK_THROWS_WITH_AS(optim::SGD(std::vector<Var>{f.x * 2.0}),
                         "SGD: parameter 0 of group 0 (shape ()) is the output of 'mul_scalar'; only leaves can be "
                         "optimized",
                         xg::Error);
}

TEST_CASE("frozen parameters do not move, whether frozen before or after the optimizer was built") {
    // PyTorch's rule: the optimizer takes them, and step skips a parameter that requires no grad.
    Var frozen_first(xt::xarray<double>{1.0, -2.0});
    Var trained(xt::xarray<double>{3.0}, true);
    Var frozen_later(xt::xarray<double>{0.5}, true);
    optim::Adam adam({frozen_first, trained, frozen_later}, {.lr = 0.1});
    const auto loss = [&] { return xg::sum(frozen_first * frozen_first) + xg::sum(trained * trained) +
                                   xg::sum(frozen_later * frozen_later); };
    loss().backward();
    adam.step();
    CHECK(frozen_first.value<double>() == xt::xarray<double>{1.0, -2.0});
    CHECK_FALSE(frozen_first.grad().defined());
    // Adam's first step moves by lr·g/(|g| + eps), lr·sign(g) to within eps/|g|.
    CHECK(trained.value<double>()(0) == doctest::Approx(2.9).epsilon(1e-8));
    CHECK(frozen_later.value<double>()(0) == doctest::Approx(0.4).epsilon(1e-8));

    // Frozen after a step, its old .grad still there and Adam's moments non-zero: they would move it; it must not.
    frozen_later.set_requires_grad(false);
    const double kept = frozen_later.value<double>()(0);
    CHECK(frozen_later.grad().defined());
    adam.zero_grad();
    loss().backward();
    adam.step();
    CHECK(frozen_later.value<double>()(0) == kept);
    CHECK(trained.value<double>()(0) < 2.9);
}

TEST_CASE("gradient clipping by global norm and by value") {
    Var a(xt::xarray<double>{3.0}, true), b(xt::xarray<double>{4.0}, true);
    (a * a / 2.0 + b * b / 2.0).backward();  // gradients (3, 4), norm 5
    CHECK(optim::clip_grad_norm({a, b}, 10.0) == 5.0);
    CHECK(a.grad().item() == 3.0);  // under the limit: untouched
    CHECK(optim::clip_grad_norm({a, b}, 1.0) == 5.0);
    CHECK(a.grad().item() == doctest::Approx(3.0 / (5.0 + 1e-6)).epsilon(1e-15));
    CHECK(b.grad().item() == doctest::Approx(4.0 / (5.0 + 1e-6)).epsilon(1e-15));
    CHECK(optim::clip_grad_norm({a, b}, 1.0, INFINITY) == doctest::Approx(4.0 / (5.0 + 1e-6)));
    optim::clip_grad_value({a, b}, 0.7);
    CHECK(a.grad().item() == doctest::Approx(3.0 / (5.0 + 1e-6)).epsilon(1e-15));  // inside ±0.7
    CHECK(b.grad().item() == 0.7);
}

TEST_CASE("schedules follow their closed forms") {
    Problem f;
    optim::SGD sgd(f.params(), {.lr = 0.1});
    const auto sequence = [](optim::LRScheduler& schedule, std::size_t n) {
        std::vector<double> lrs{schedule.lr()};
        for (std::size_t t = 1; t < n; ++t) {
            schedule.step();
            lrs.push_back(schedule.lr());
        }
        return lrs;
    };
    const auto check_closed_form = [&](optim::LRScheduler&& schedule, const std::function<double(double)>& form) {
        CAPTURE(schedule.description());
        const auto lrs = sequence(schedule, 400);
        for (std::size_t t = 0; t < lrs.size(); ++t) {
            CAPTURE(t);
            CHECK(lrs[t] == doctest::Approx(form(static_cast<double>(t))).epsilon(1e-14));
        }
        CHECK(schedule.steps() == 399);
        sgd.set_lr(0.1);
    };
    check_closed_form(optim::FixedLR(sgd), [](double) { return 0.1; });
    check_closed_form(optim::StepLR(sgd, 50, 0.9), [](double t) { return 0.1 * std::pow(0.9, std::floor(t / 50)); });
    check_closed_form(optim::MultiStepLR(sgd, {30, 80}, 0.5),
                      [](double t) { return 0.1 * (t < 30 ? 1.0 : t < 80 ? 0.5 : 0.25); });
    check_closed_form(optim::ExponentialLR(sgd, 0.99), [](double t) { return 0.1 * std::pow(0.99, t); });
    check_closed_form(optim::InversePowerLR(sgd, 1e-4, 0.75),
                      [](double t) { return 0.1 * std::pow(1 + 1e-4 * t, -0.75); });
    check_closed_form(optim::PolynomialLR(sgd, 300, 2.0),
                      [](double t) { return 0.1 * std::pow(1 - std::min(t, 300.0) / 300.0, 2.0); });
    check_closed_form(optim::InverseTimeLR(sgd, 1.0), [](double t) { return 0.1 / (1 + t); });
    check_closed_form(optim::InverseSqrtLR(sgd, 0.5), [](double t) { return 0.1 * 0.5 / std::sqrt(t + 1); });
    check_closed_form(optim::LambdaLR(sgd, [](std::size_t t) { return t % 2 ? 0.5 : 1.0; }),
                      [](double t) { return std::fmod(t, 2) == 1 ? 0.05 : 0.1; });

    // The seeds' tables: 0.1·0.9^⌊t/50⌋ at t = 0, 50, 100, 150; Ng's α₀ = 0.2, decay 1 over epochs.
    optim::StepLR step(sgd, 50, 0.9);
    CHECK(step.lr_at(50) == doctest::Approx(0.09));
    CHECK(step.lr_at(100) == doctest::Approx(0.081));
    CHECK(step.lr_at(150) == doctest::Approx(0.0729));
    sgd.set_lr(0.2);
    optim::InverseTimeLR ng(sgd, 1.0);
    CHECK(ng.lr_at(1) == doctest::Approx(0.1));
    CHECK(ng.lr_at(2) == doctest::Approx(0.2 / 3));
}

TEST_CASE("cosine annealing, warm restarts, linear warm-up and OneCycle give PyTorch 1.13's rates") {
    Problem f;
    optim::SGD sgd(f.params(), {.lr = 0.1});
    // Each expected sequence was printed by PyTorch 1.13.1 (python3-torch), stepping its scheduler the same way.
    const auto check_sequence = [&](optim::LRScheduler&& schedule, const std::vector<double>& torch) {
        CAPTURE(schedule.description());
        for (std::size_t t = 0; t < torch.size(); ++t) {
            CAPTURE(t);
            CHECK(schedule.lr() == doctest::Approx(torch[t]).epsilon(1e-12));
            CHECK(schedule.lr_at(t) == schedule.lr());
            if (t + 1 < torch.size()) schedule.step();
        }
        sgd.set_lr(0.1);
    };
    check_sequence(optim::CosineAnnealingLR(sgd, 10, 0.01),
                   {0.1, 0.09779754323328192, 0.09140576474687263, 0.08145033635316129, 0.06890576474687264,
                    0.05500000000000001, 0.04109423525312737, 0.028549663646838717, 0.01859423525312737,
                    0.012202456766718092, 0.01, 0.012202456766718092, 0.0185942352531274, 0.028549663646838794,
                    0.04109423525312751, 0.05500000000000021, 0.0689057647468729, 0.08145033635316161,
                    0.09140576474687301, 0.09779754323328231, 0.10000000000000041, 0.09779754323328231});
    check_sequence(optim::CosineAnnealingWarmRestarts(sgd, 3, 2, 0.001),
                   {0.1, 0.07525000000000001, 0.025750000000000012, 0.1, 0.09336825748732973, 0.07525000000000001,
                    0.0505, 0.025750000000000012, 0.007631742512670284, 0.1, 0.09831332840130888,
                    0.09336825748732973, 0.0855017856687341, 0.07525000000000001, 0.06331154273257478, 0.0505,
                    0.03768845726742523, 0.025750000000000012, 0.0154982143312659, 0.007631742512670284,
                    0.0026866715986911243, 0.1, 0.09957652063800362, 0.09831332840130888, 0.0962320368593087});
    check_sequence(optim::CosineAnnealingWarmRestarts(sgd, 4, 1), {0.1, 0.08535533905932738, 0.05, 0.014644660940672627,
                                                                   0.1, 0.08535533905932738});
    // PyTorch: SequentialLR([LinearLR(start_factor=0.25, total_iters=4), StepLR(3, 0.5)], milestones=[4]).
    optim::StepLR after(sgd, 3, 0.5);
    check_sequence(optim::LinearWarmup(sgd, 4, after, 0.25),
                   {0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.1, 0.1, 0.1, 0.05, 0.05,
                    0.05, 0.025, 0.025, 0.025, 0.0125});
    optim::OneCycleLR one_cycle(sgd, 1.0, 20);
    check_sequence(std::move(one_cycle),
                   {0.040000000000000036, 0.1316718427000253, 0.3716718427000253, 0.6683281572999747,
                    0.9083281572999747, 1.0, 0.9874640062350873, 0.9504846320134737, 0.89091617757105,
                    0.8117456539497631, 0.7169430017913008, 0.6112620219362893, 0.500002, 0.38874197806371075,
                    0.28306099820869923, 0.18825834605023697, 0.10908782242895004, 0.049519367986526286,
                    0.012539993764912554, 4e-06, 0.012539993764912554});
    optim::OneCycleLR finished(sgd, 1.0, 2);
    finished.step();
    finished.step();
    CHECK_THROWS_WITH_AS(finished.step(), "OneCycleLR: stepped 3 times; total_steps is 2", xg::Error);

    CHECK_THROWS_WITH_AS(optim::CosineAnnealingLR(sgd, 0), "CosineAnnealingLR: t_max must be positive", xg::Error);
    CHECK_THROWS_WITH_AS(optim::CosineAnnealingWarmRestarts(sgd, 3, 0),
                         "CosineAnnealingWarmRestarts: t_mult must be positive", xg::Error);
    CHECK_THROWS_WITH_AS(optim::LinearWarmup(sgd, 2, after, 1.5), "LinearWarmup: start_factor must be in [0, 1]",
                         xg::Error);
    CHECK_THROWS_WITH_AS(optim::OneCycleLR(sgd, 1.0, 10, 1.0), "OneCycleLR: pct_start must be in (0, 1)", xg::Error);
}

TEST_CASE("ReduceLROnPlateau follows PyTorch 1.13: patience, cooldown, min_lr, thresholds, its state") {
    Problem f;
    optim::SGD sgd(f.params(), {.lr = 1.0});
    optim::ReduceLROnPlateau plateau(sgd, {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.1});
    std::vector<double> lrs;
    for (const double metric : {5.0, 4.0, 4.0, 4.0, 4.0, 3.9999, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0}) {
        plateau.step(metric);
        lrs.push_back(plateau.lr());
    }
    // PyTorch 1.13.1 printed these rates, best 4.0 (3.9999 is not better by the relative threshold 1e-4), 2 bad
    // epochs and no cooldown left.
    CHECK(lrs == std::vector<double>{1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125,
                                     0.125, 0.125});
    CHECK(plateau.best() == 4.0);
    CHECK(plateau.bad_steps() == 2);
    for (int i = 0; i < 8; ++i) plateau.step(4.0);
    CHECK(plateau.lr() == 0.1);  // min_lr

    optim::SGD other(f.params(), {.lr = 1.0});
    optim::ReduceLROnPlateau rising(other, {.mode = optim::ReduceLROnPlateauOptions::Mode::max, .factor = 0.1,
                                            .patience = 0, .threshold = 0.01, .relative_threshold = false});
    lrs.clear();
    for (const double metric : {0.5, 0.505, 0.52, 0.52, 0.6}) {
        rising.step(metric);
        lrs.push_back(rising.lr());
    }
    CHECK(lrs == std::vector<double>{1.0, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002});

    optim::ReduceLROnPlateau restored(sgd, {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.1});
    restored.load_state_dict(plateau.state_dict());
    CHECK(restored.best() == 4.0);
    CHECK(restored.bad_steps() == plateau.bad_steps());
    CHECK_THROWS_WITH_AS(restored.load_state_dict({{"best", Var(std::nan(""))}}),
                         "ReduceLROnPlateau::load_state_dict: the state entry 'best' is NaN", xg::Error);
    CHECK_THROWS_WITH_AS(plateau.step(std::nan("")),
                         "ReduceLROnPlateau::step: the metric is NaN (a diverged run?); the rates were left as they are",
                         xg::Error);
    CHECK_THROWS_WITH_AS(optim::ReduceLROnPlateau(sgd, {.factor = 1.0}),
                         "ReduceLROnPlateau: factor must be in (0, 1), got 1", xg::Error);
}

TEST_CASE("a schedule drives every group of any optimizer and its steps use the new rate") {
    Problem f;
    optim::Adam adam({optim::ParamGroup{{f.x}, 0.2, {}}, optim::ParamGroup{{f.y}, 0.02, {}}});
    optim::ExponentialLR schedule(adam, 0.5);
    schedule.step();
    CHECK(schedule.lrs() == std::vector<double>{0.1, 0.01});
    const Point first = f.step(adam);  // Adam's first step is lr·sign(g)
    CHECK(first.x == doctest::Approx(-6.9));
    CHECK(first.y == doctest::Approx(1.99));
    CHECK_THROWS_WITH_AS(optim::StepLR(adam, 0), "StepLR: step_size must be positive", xg::Error);
    CHECK_THROWS_WITH_AS(optim::MultiStepLR(adam, {5, 2}), "MultiStepLR: milestones must be ascending", xg::Error);
}

TEST_CASE("find_lr sweeps exponentially, stops on divergence, suggests a rate and restores everything") {
    // Least squares for y = 3x + noise on fixed data: the loss cannot fall below the noise's variance, and
    // gradient descent diverges once lr passes 2 / curvature, curvature = 2·mean x².
    xg::Generator g(3);
    Var x = xg::rand({64, 1}, g, xg::Dtype::float64, -1.5, 1.5);
    Var y = x * 3.0 + xg::randn({64, 1}, g, xg::Dtype::float64, 0.0, 0.5);
    const double curvature = 2.0 * xt::mean(x.value<double>() * x.value<double>())();
    const auto make = [] {
        xg::Generator init(5);
        return nn::Linear(1, 1, init, false, xg::Dtype::float64);
    };
    const auto loss_of = [&](nn::Linear& m) { return [&](std::size_t) { return xg::mse(m(x), y); }; };

    nn::Linear model = make();
    optim::SGD sgd(model.parameters(), {.lr = 0.01});
    const xg::FindLRResult result =
        xg::find_lr(model, sgd, loss_of(model), {.min_lr = 1e-4, .max_lr = 100.0, .steps = 61, .smoothing = 0.5});
    REQUIRE(result.lrs.size() >= 3);
    for (std::size_t i = 0; i < result.lrs.size(); ++i)
        CHECK(result.lrs[i] == doctest::Approx(1e-4 * std::pow(10.0, i / 10.0)).epsilon(1e-12));
    CHECK(result.diverged);
    CHECK(result.lrs.size() < 61);
    CHECK(result.lrs.back() > 2.0 / curvature);  // it stopped past the stable range...
    CHECK(result.suggested_lr < 2.0 / curvature);  // ...and suggests a rate inside it
    CHECK(result.suggested_lr > 1e-3);
    CHECK(result.min_loss_lr >= result.suggested_lr);
    CHECK(result.losses.size() == result.smoothed_losses.size());
    // The default window is a tenth of the steps, made odd: 7 points centred on each one (fewer at the ends).
    double first_seven = 0.0;
    for (std::size_t i = 0; i < 7; ++i) first_seven += result.losses[i] / 7.0;
    CHECK(result.smoothed_losses[3] == doctest::Approx(first_seven).epsilon(1e-14));
    CHECK(result.smoothed_losses[0] == doctest::Approx((result.losses[0] + result.losses[1] + result.losses[2] +
                                                        result.losses[3]) / 4.0).epsilon(1e-14));

    // Everything restored, momentum buffers included: the next steps match an untouched twin's bit for bit.
    nn::Linear a = make(), b = make();
    optim::Momentum opt(a.parameters(), {.lr = 0.01}), twin_opt(b.parameters(), {.lr = 0.01});
    const auto step = [&](nn::Linear& m, optim::Optimizer& o) {
        o.zero_grad();
        xg::mse(m(x), y).backward();
        o.step();
    };
    step(a, opt);
    step(b, twin_opt);
    xg::find_lr(a, opt, loss_of(a), {.min_lr = 1e-4, .max_lr = 100.0, .steps = 61});
    CHECK(opt.lr() == 0.01);
    for (int i = 0; i < 3; ++i) {
        step(a, opt);
        step(b, twin_opt);
        CHECK(a.weight.item() == b.weight.item());
    }
    CHECK_THROWS_WITH_AS(xg::find_lr(model, sgd, loss_of(model), {.steps = 1}),
                         "find_lr: steps must be at least 2, got 1", xg::Error);
    CHECK_THROWS_WITH_AS(xg::find_lr(model, sgd, loss_of(model), {.window = 4}),
                         "find_lr: window must be 0 or an odd number of at least 3, got 4", xg::Error);
}

TEST_CASE("find_lr suggests a rate that trains the seeds' 784-64-16-10 network, not one from the noisy start") {
    // MNIST-shaped data without MNIST: 784 inputs in [0, 1) and 10 classes set by a random linear teacher, the
    // seeds' sigmoid/tanh network, batches of 128, the default sweep from 1e-7 to 10. The first steps' losses are
    // noise around log 10 = 2.30; a steepest-slope rule on a lagging running average picked a rate there
    // (~1e-7), with which nothing trains.
    xg::Generator g(31);
    const Var x = xg::rand({1280, 784}, g);
    const Var teacher = xg::randn({784, 10}, g);
    std::vector<std::size_t> labels;
    for (std::size_t c : xg::metrics::predictions(xg::matmul(x - 0.5, teacher))) labels.push_back(c);
    const auto network = [] {
        xg::Generator init(32);
        nn::Sequential model(nn::Linear(784, 64, init), nn::Sigmoid(), nn::Linear(64, 16, init), nn::Tanh(),
                             nn::Linear(16, 10, init));
        for (auto& [name, p] : model.named_parameters())
            if (p.dim() == 2) xg::init::xavier_uniform(p, init);
        return model;
    };
    const auto batch = [&](std::size_t step) {
        const std::size_t first = (step % 10) * 128;
        std::vector<std::size_t> rows(128);
        for (std::size_t i = 0; i < 128; ++i) rows[i] = first + i;
        return std::pair{xg::select_rows(x, rows),
                         std::vector<std::size_t>(labels.begin() + first, labels.begin() + first + 128)};
    };
    nn::Sequential model = network();
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    const xg::FindLRResult result = xg::find_lr(model, sgd, [&](std::size_t step) {
        const auto [inputs, classes] = batch(step);
        return xg::softmax_cross_entropy(model(inputs), classes);
    });
    INFO("suggested ", result.suggested_lr, ", minimum at ", result.min_loss_lr);
    CHECK(result.suggested_lr > 1e-3);                // far from the 1e-7 start
    CHECK(result.suggested_lr <= result.min_loss_lr);  // on the way down, not past the bottom

    // Two epochs at the suggested rate against the same at a hundredth of it.
    const auto loss_after_training = [&](double lr) {
        nn::Sequential m = network();
        optim::SGD step(m.parameters(), {.lr = lr});
        for (std::size_t i = 0; i < 20; ++i) {
            const auto [inputs, classes] = batch(i);
            step.zero_grad();
            xg::softmax_cross_entropy(m(inputs), classes).backward();
            step.step();
        }
        xg::NoGradGuard no_grad;
        return xg::softmax_cross_entropy(m(x), labels).item();
    };
    const double start = loss_after_training(0.0), suggested = loss_after_training(result.suggested_lr),
                 hundredth = loss_after_training(result.suggested_lr / 100.0);
    INFO("loss before ", start, ", after training at the suggestion ", suggested, ", at a hundredth ", hundredth);
    CHECK(suggested < start);
    CHECK(start - suggested > 5.0 * (start - hundredth));
}

TEST_CASE("state_dict and load_state_dict carry an optimizer and a schedule over, and refuse a bad state whole") {
    xg::Generator g(5);
    const auto make_params = [&] {
        return std::vector<xg::Var>{xg::randn({3, 2}, g).set_requires_grad(), xg::randn({2}, g).set_requires_grad()};
    };
    const auto step = [](optim::Optimizer& optimizer, const std::vector<xg::Var>& params) {
        optimizer.zero_grad();
        xg::sum(xg::mul(xg::matmul(xg::ones({4, 3}), params[0]) + params[1], 2.0)).backward();
        optimizer.step();
    };
    std::vector<xg::Var> a = make_params();
    optim::Adam adam_a(a, {.lr = 0.05});
    optim::StepLR schedule_a(adam_a, 2, 0.5);
    for (int i = 0; i < 3; ++i) {
        step(adam_a, a);
        schedule_a.step();
    }
    const xg::Named<xg::Var> state = adam_a.state_dict();
    std::vector<std::string> names;
    for (const auto& [name, v] : state) names.push_back(name);
    CHECK(names == std::vector<std::string>{"group0.lr", "0.step", "0.exp_avg", "0.exp_avg_sq", "1.step", "1.exp_avg",
                                            "1.exp_avg_sq"});
    CHECK(state[1].second.item() == 3.0);

    // A second optimizer over copies of the parameters continues exactly where the first one is.
    std::vector<xg::Var> b = {a[0].detach().set_requires_grad(), a[1].detach().set_requires_grad()};
    optim::Adam adam_b(b, {.lr = 0.9});
    optim::StepLR schedule_b(adam_b, 2, 0.5);
    adam_b.load_state_dict(state);
    schedule_b.load_state_dict(schedule_a.state_dict());
    CHECK(schedule_b.steps() == 3);
    CHECK(adam_b.lr() == adam_a.lr());
    for (int i = 0; i < 2; ++i) {
        step(adam_a, a);
        step(adam_b, b);
        schedule_a.step();
        schedule_b.step();
    }
    CHECK(xt::all(xt::equal(a[0].value<float>(), b[0].value<float>())));
    CHECK(adam_b.lr() == adam_a.lr());

    // A bad entry names itself, and nothing changes.
    xg::Named<xg::Var> wrong = state;
    wrong[2].second = xg::zeros({2, 3});
    const xg::Named<xg::Var> before = adam_b.state_dict();
    CHECK(check::error_message([&] { adam_b.load_state_dict(wrong); }) ==
          "Adam::load_state_dict: the state entry '0.exp_avg' is (2, 3) float32, expected (3, 2) float32");
    CHECK(xt::all(xt::equal(adam_b.state_dict()[2].second.value<float>(), before[2].second.value<float>())));
    wrong = state;
    wrong.emplace_back("2.step", xg::Var(1.0));
    CHECK(check::error_message([&] { adam_b.load_state_dict(wrong); }) ==
          "Adam::load_state_dict: the state has an entry '2.step' that the Adam optimizer does not have");
    CHECK(check::error_message([&] { adam_b.load_state_dict(state, {"only one name"}); }) ==
          "Adam::load_state_dict: 1 parameter names for 2 parameters");
    CHECK(check::error_message([&] { schedule_b.load_state_dict({{"step", xg::Var(-2.0)}}); }) ==
          "LRScheduler::load_state_dict: the state of StepLR(step_size=2, gamma=0.5) entry 'step': a step count must "
          "be a whole number from 0 to 2^53, got -2");
    CHECK(schedule_b.steps() == 5);
}
