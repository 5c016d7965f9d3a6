// Var's accessors and the leaves users make (zeros, ones, full).
#include "support/element_count.hpp"
#include "autograd/node.hpp"

namespace xg {

const char* dtype_name(Dtype dtype) { return dtype == Dtype::float32 ? "float32" : "float64"; }

std::string to_string(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

Var::Var(xt::xarray<float> value, bool requires_grad) : node_(make_node(std::move(value))) {
    node_->requires_grad = requires_grad;
}
Var::Var(xt::xarray<double> value, bool requires_grad) : node_(make_node(std::move(value))) {
    node_->requires_grad = requires_grad;
}
Var::Var(double value, bool requires_grad, Dtype dtype)
    : node_(make_node(filled(dtype, Shape{}, value))) {
    node_->requires_grad = requires_grad;
}

void Var::free_value_if_unneeded() noexcept {
    // A recorded node whose value is worth freeing and not read by its own VJP (value_freeable), that no VJP of a
    // consumer reads, and that nothing holds but its consumers and the handle now going away.
    Node& n = *node_;
    if (!n.value_freeable || n.value_readers != 0 || node_.use_count() != static_cast<long>(n.consumers) + 1) return;
    n.value_freeable = false;
    // Called from destructors: freeing is only a saving, so when a shape of more than four axes cannot be copied
    // the value simply stays.
    try {
        n.freed_shape = shape_of_tensor(n.value);
        visit(n.value, [](auto& array) {
            using Array = std::decay_t<decltype(array)>;
            Array empty = Array::from_shape({0});
            Array freed = std::move(array);
            array = std::move(empty);
            recycle(Tensor(std::move(freed)));
        });
        n.value_freed = true;
    } catch (...) {
    }
}

const Tensor& tensor_of(const Var& x) {
    require_defined("value", x);
    return x.node()->value;
}
Tensor& mutable_tensor_of(const Var& x) {
    require_defined("mutable_value", x);
    return x.node()->value;
}
Dtype dtype_of_tensor(const Tensor& t) { return t.index() == 0 ? Dtype::float32 : Dtype::float64; }
const Shape& shape_of_tensor(const Tensor& t) {
    return visit(t, [](const auto& a) -> const Shape& { return a.shape(); });
}

Dtype Var::dtype() const { return dtype_of_tensor(tensor_of(*this)); }
const Shape& Var::shape() const { return shape_of_tensor(tensor_of(*this)); }
std::size_t Var::dim() const { return shape().size(); }
std::size_t Var::size() const {
    return visit(tensor_of(*this), [](const auto& a) { return a.size(); });
}

template <class T>
const xt::xarray<T>& Var::value() const {
    const auto* a = std::get_if<xt::xarray<T>>(&tensor_of(*this));
    if (!a)
        throw DtypeError(fmt::format("value<{}>(): the variable is {}", dtype_name(dtype_of<T>()),
                                     dtype_name(dtype())));
    return *a;
}
template <class T>
xt::xarray<T>& Var::mutable_value() {
    auto* a = std::get_if<xt::xarray<T>>(&mutable_tensor_of(*this));
    if (!a)
        throw DtypeError(fmt::format("mutable_value<{}>(): the variable is {}", dtype_name(dtype_of<T>()),
                                     dtype_name(dtype())));
    return *a;
}
template const xt::xarray<float>& Var::value<float>() const;
template const xt::xarray<double>& Var::value<double>() const;
template xt::xarray<float>& Var::mutable_value<float>();
template xt::xarray<double>& Var::mutable_value<double>();

double Var::item() const {
    if (size() != 1)
        throw ShapeError(fmt::format("item: only one-element variables convert to a number, got shape {}",
                                     to_string(shape())));
    return visit(tensor_of(*this), [](const auto& a) { return static_cast<double>(*a.data()); });
}

Var Var::operator[](std::ptrdiff_t i) const { return select(*this, 0, i); }

bool Var::requires_grad() const { return defined() && node_->requires_grad; }
bool Var::is_leaf() const { return defined() && node_->op == nullptr; }
const char* Var::op() const { return defined() && node_->op ? node_->op : "leaf"; }

Var& Var::set_requires_grad(bool requires_grad) {
    require_defined("set_requires_grad", *this);
    if (node_->op)
        throw GraphError(fmt::format("set_requires_grad: only leaves can change requires_grad; this variable was "
                                     "made by '{}' (use detach() for a new leaf)",
                                     node_->op));
    node_->requires_grad = requires_grad;
    return *this;
}

Var Var::grad() const {
    require_defined("grad", *this);
    return node_->grad;
}
void Var::zero_grad() {
    require_defined("zero_grad", *this);
    if (!node_->grad.defined()) return;
    if (node_->grad.requires_grad() || node_->grad.node().use_count() > 1) {
        node_->grad = zeros_like(node_->grad);
        return;
    }
    visit(node_->grad.node()->value, [](auto& a) { std::fill(a.begin(), a.end(), 0); });
}
void Var::clear_grad() {
    require_defined("clear_grad", *this);
    node_->grad = Var();
}

Var& Var::copy_from(const Var& source) {
    require_defined("copy_from", *this);
    require_defined("copy_from", source);
    if (!is_leaf())
        throw GraphError(fmt::format("copy_from: the output of '{}' cannot be overwritten, only a leaf", op()));
    if (source.shape() != shape())
        throw ShapeError(fmt::format("copy_from: cannot copy {} into {}", to_string(source.shape()),
                                     to_string(shape())));
    visit(node_->value, [&](auto& to) {
        using T = typename std::decay_t<decltype(to)>::value_type;
        visit(tensor_of(source), [&](const auto& from) {
            std::transform(from.begin(), from.end(), to.begin(), [](auto v) { return static_cast<T>(v); });
        });
    });
    return *this;
}

Var& Var::set_data(const Var& source) {
    require_defined("set_data", *this);
    require_defined("set_data", source);
    if (!is_leaf())
        throw GraphError(fmt::format("set_data: the output of '{}' cannot be replaced, only a leaf", op()));
    if (source.is_same(*this)) return *this;
    node_->value = tensor_of(source);
    return *this;
}

Var Var::detach() const {
    auto node = make_node(tensor_of(*this));
    node->name = node_->name;
    return Var(std::move(node));
}

Var Var::to(Dtype dtype) const {
    require_defined("to", *this);
    if (dtype == this->dtype()) return *this;
    Tensor converted = visit(tensor_of(*this), [&](const auto& a) -> Tensor {
        if (dtype == Dtype::float32) return xt::xarray<float>(xt::cast<float>(a));
        return xt::xarray<double>(xt::cast<double>(a));
    });
    const Dtype from = this->dtype();
    return record("to", std::move(converted), {*this}, [from](Backward& b) { b.add(0, b.grad.to(from)); },
                  Saved::nothing());
}

const std::string& Var::name() const {
    require_defined("name", *this);
    return node_->name;
}
Var& Var::set_name(std::string name) {
    require_defined("set_name", *this);
    node_->name = std::move(name);
    return *this;
}

Tensor filled(Dtype dtype, const Shape& shape, double value) {
    if (dtype == Dtype::float32) {
        auto a = uninitialized<float>(shape);
        std::fill(a.begin(), a.end(), static_cast<float>(value));
        return a;
    }
    auto a = uninitialized<double>(shape);
    std::fill(a.begin(), a.end(), value);
    return a;
}

Var constant(Tensor value) { return Var(make_node(std::move(value))); }

Var zeros(const Shape& shape, Dtype dtype) {
    checked_element_count("zeros", shape, dtype);
    return constant(filled(dtype, shape, 0.0));
}
Var ones(const Shape& shape, Dtype dtype) {
    checked_element_count("ones", shape, dtype);
    return constant(filled(dtype, shape, 1.0));
}
Var full(const Shape& shape, double value, Dtype dtype) {
    checked_element_count("full", shape, dtype);
    return constant(filled(dtype, shape, value));
}
Var zeros_like(const Var& x) { return zeros(x.shape(), x.dtype()); }
Var ones_like(const Var& x) { return ones(x.shape(), x.dtype()); }

}  // namespace xg
