#pragma once
// Files that are whole or absent: checkpoints, histories and plots are written through this.
#include <functional>
#include <string>

namespace xg {

/// Creates a temporary file next to `path`, lets `write` fill it (by name), flushes it to disk and renames it over
/// `path`. On any failure the temporary file is removed and the error propagates; errors of our own are
/// Error("<op>: '<path>': <what>").
void write_atomically(const char* op, const std::string& path,
                      const std::function<void(const std::string& temporary)>& write);

}  // namespace xg
