#include "files.hpp"

#include <xgrad/errors.hpp>

#include <fmt/core.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace xg {

namespace {
// The process's umask, read without umask(2), which can only be read by setting it and would briefly change the
// permissions of files other threads create meanwhile.
mode_t file_creation_mask() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("Umask:")) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
    return 022;  // kernels before 4.7 do not report it; the usual default
}
}  // namespace

void write_atomically(const char* op, const std::string& path,
                      const std::function<void(const std::string& temporary)>& write) {
    const auto fail = [&](const std::string& what) { throw Error(fmt::format("{}: '{}': {}", op, path, what)); };
    std::string temporary = path + ".XXXXXX";
    const int fd = mkstemp(temporary.data());
    if (fd < 0) fail(fmt::format("cannot create a temporary file next to it: {}", std::strerror(errno)));
    ::close(fd);
    try {
        write(temporary);
        // Flush the data to disk before the rename makes it the file.
        const int written = ::open(temporary.c_str(), O_RDONLY);
        if (written < 0 || ::fsync(written) != 0) {
            if (written >= 0) ::close(written);
            fail(fmt::format("cannot flush '{}': {}", temporary, std::strerror(errno)));
        }
        ::close(written);
        // mkstemp made the file 0600; give it the permissions a plain new file gets.
        ::chmod(temporary.c_str(), 0666 & ~file_creation_mask());
        if (std::rename(temporary.c_str(), path.c_str()) != 0)
            fail(fmt::format("cannot rename '{}' to it: {}", temporary, std::strerror(errno)));
    } catch (...) {
        std::remove(temporary.c_str());
        throw;
    }
}

}  // namespace xg
