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

namespace xg {

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
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::chmod(temporary.c_str(), 0666 & ~mask);
        if (std::rename(temporary.c_str(), path.c_str()) != 0)
            fail(fmt::format("cannot rename '{}' to it: {}", temporary, std::strerror(errno)));
    } catch (...) {
        std::remove(temporary.c_str());
        throw;
    }
}

}  // namespace xg
