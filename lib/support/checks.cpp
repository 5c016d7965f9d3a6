#include "support/checks.hpp"

namespace xg {

void require_defined(const char* op, const Var& x) {
    if (!x.defined()) throw Error(fmt::format("{}: undefined variable (a default-constructed Var)", op));
}

}  // namespace xg
