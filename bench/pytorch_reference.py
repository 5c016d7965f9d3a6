"""The same workloads as bench_core.cpp, in PyTorch on one CPU thread, for the comparison in
docs/performance.md. Run: /usr/bin/python3 bench/pytorch_reference.py (Debian's python3-torch)."""
import timeit

import torch

torch.set_num_threads(1)
torch.manual_seed(1)


def report(name, fn, ops=None):
    fn()
    number, total = 1, 0.0
    while total < 0.2:
        number *= 2
        total = timeit.timeit(fn, number=number)
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number
    extra = f"  per_op={best / ops * 1e9:.0f}ns" if ops else ""
    print(f"{name:<36} {best * 1e9:>12.0f} ns{extra}")


def leaf(value):
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


apple, apple_num, orange, orange_num, tax = map(leaf, (100.0, 2.0, 150.0, 3.0, 1.1))


def apple_forward_backward():
    ((apple * apple_num + orange * orange_num) * tax).backward()


report("apple_forward_backward", apple_forward_backward, ops=4)
with torch.no_grad():
    a0, b0, c0, d0, e0 = (t.detach() for t in (apple, apple_num, orange, orange_num, tax))
    report("apple_forward_no_grad", lambda: (a0 * b0 + c0 * d0) * e0, ops=4)

a = torch.randn(100, 100, requires_grad=True)
b = torch.randn(100, 100, requires_grad=True)
seed = torch.ones(100, 100)
for name, op in [("add", lambda: a + b), ("mul", lambda: a * b), ("sigmoid", lambda: torch.sigmoid(a)),
                 ("relu", lambda: torch.relu(a)), ("exp", lambda: torch.exp(a))]:
    with torch.no_grad():
        report(f"elementwise_forward/{name}", op)
    report(f"elementwise_forward_backward/{name}", lambda: op().backward(seed))

x = torch.randn(100, 784, requires_grad=True)
w = torch.randn(784, 100, requires_grad=True)
g = torch.randn(100, 100)


def matmul_forward_backward():
    x.grad = None
    w.grad = None
    (x @ w).backward(g)


report("matmul_forward_backward", matmul_forward_backward)

inputs = torch.rand(100, 784)
labels = torch.randint(0, 10, (100,))
model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def mnist_step():
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(inputs), labels).backward()
    optimizer.step()


report("mnist_step", mnist_step)

# bench_nn.cpp's workloads.
adam_model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
adam = torch.optim.Adam(adam_model.parameters(), lr=1e-3)
bn_model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.BatchNorm1d(50), torch.nn.ReLU(),
                               torch.nn.Linear(50, 10))
bn_sgd = torch.optim.SGD(bn_model.parameters(), lr=0.1)


def step_of(net, opt):
    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(inputs), labels).backward()
        opt.step()
    return step


report("mnist_step_sgd", step_of(model, optimizer))
report("mnist_step_adam", step_of(adam_model, adam))
report("mnist_step_batchnorm_sgd", step_of(bn_model, bn_sgd))
adam.zero_grad()
torch.nn.functional.cross_entropy(adam_model(inputs), labels).backward()
report("adam_update_only", adam.step)

# bench_train.cpp's workloads: one epoch of 60,000 random 784-pixel rows in batches of 100.
epoch_inputs = torch.rand(60000, 784)
epoch_labels = torch.randint(0, 10, (60000,))
epoch_model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
epoch_sgd = torch.optim.SGD(epoch_model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(epoch_inputs, epoch_labels), batch_size=100,
                                     shuffle=True)


def train_batch(x, t):
    epoch_sgd.zero_grad()
    torch.nn.functional.cross_entropy(epoch_model(x), t).backward()
    epoch_sgd.step()


def loader_epoch():
    for x, t in loader:
        pass


def epoch_with_dataloader():
    for x, t in loader:
        train_batch(x, t)


def epoch_with_slicing():
    order = torch.randperm(60000)
    for i in range(0, 60000, 100):
        rows = order[i:i + 100]
        train_batch(epoch_inputs[rows], epoch_labels[rows])


def timed(name, fn):
    best = min(timeit.repeat(fn, number=1, repeat=3))
    print(f"{name:<36} {best * 1e3:>12.1f} ms")


timed("loader_epoch (torch DataLoader)", loader_epoch)
timed("fit_epoch (torch DataLoader)", epoch_with_dataloader)
timed("fit_epoch (randperm + slicing)", epoch_with_slicing)
