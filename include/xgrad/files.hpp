#pragma once
// Files that are whole or absent: every file xgrad writes (checkpoints, plots, CSV) goes through write_file.
#include <string>
#include <string_view>

namespace xg {

/// Writes `content` to `path` whole or not at all. The bytes go to a temporary file next to `path` (named
/// `<name>.xgrad-<pid>-XXXXXX`), every write is checked, the file is flushed to disk and renamed over `path`, and the
/// directory is flushed so that the rename survives a crash. Saving over an existing file keeps its permissions
/// (a new file gets 0666 less the umask); a symbolic link is written through, as numpy.save and torch.save do.
/// Temporary files left by a process that was killed mid-save are removed by the next save to the same path.
/// On failure `path` is left as it was, the temporary file is removed, and Error("write_file: '<path>': <reason>")
/// is thrown.
void write_file(const std::string& path, std::string_view content);

}  // namespace xg
