#pragma once
// write_file for the library's own savers, whose errors name their op ("save_npz: '<path>': ...").
#include <xgrad/files.hpp>

namespace xg {

void write_file(const char* op, const std::string& path, std::string_view content);

}  // namespace xg
