#include "io/files.hpp"

#include <xgrad/errors.hpp>

#include <fmt/core.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace xg {

namespace {

namespace fs = std::filesystem;

// The process's umask, read without umask(2), which can only be read by setting it and would briefly change the
// permissions of files other threads create meanwhile.
mode_t file_creation_mask() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("Umask:")) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
    return 022;  // kernels before 4.7 do not report it; the usual default
}

struct Failure {
    const char* op;
    const std::string& path;
    [[noreturn]] void operator()(const std::string& what) const {
        throw Error(fmt::format("{}: '{}': {}", op, path, what));
    }
    [[noreturn]] void system(const std::string& what) const {
        (*this)(fmt::format("{}: {}", what, std::strerror(errno)));
    }
};

// The file a save to `path` replaces: the end of its chain of symbolic links.
fs::path link_target(const std::string& path, const Failure& fail) {
    fs::path target = path;
    for (int links = 0;; ++links) {
        struct stat info;
        if (::lstat(target.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) return target;
        if (links == 40) fail("too many levels of symbolic links");
        std::error_code error;
        const fs::path link = fs::read_symlink(target, error);
        if (error) fail(fmt::format("cannot read the symbolic link '{}': {}", target.string(), error.message()));
        target = link.is_absolute() ? link : target.parent_path() / link;
    }
}

constexpr std::string_view temporary_marker = ".xgrad-";

// Removes `<name>.xgrad-<pid>-XXXXXX` files in `directory` whose process no longer runs: saves that were killed.
void remove_stale_temporaries(const fs::path& directory, const std::string& name) {
    const std::string prefix = name + std::string(temporary_marker);
    std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(directory.c_str()), ::closedir);
    if (!listing) return;  // the save itself will report an unusable directory
    while (const dirent* entry = ::readdir(listing.get())) {
        const std::string_view file = entry->d_name;
        if (!file.starts_with(prefix)) continue;
        const std::string_view rest = file.substr(prefix.size());  // "<pid>-XXXXXX"
        const std::size_t dash = rest.find('-');
        if (dash == 0 || dash == std::string_view::npos || rest.size() != dash + 7) continue;
        if (rest.substr(0, dash).find_first_not_of("0123456789") != std::string_view::npos || dash > 9) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(std::string(rest.substr(0, dash))));
        if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlink((directory / file).c_str());
    }
}

void write_all(int fd, std::string_view content, const Failure& fail) {
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), std::min<std::size_t>(content.size(), 1 << 30));
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) fail.system(fmt::format("cannot write ({} bytes left)", content.size()));
        content.remove_prefix(static_cast<std::size_t>(written));
    }
}

}  // namespace

void write_file(const char* op, const std::string& path, std::string_view content) {
    const Failure fail{op, path};
    const fs::path target = link_target(path, fail);
    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string name = target.filename().string();

    mode_t mode = 0666 & ~file_creation_mask();
    struct stat existing;
    if (::stat(target.c_str(), &existing) == 0) {
        if (S_ISDIR(existing.st_mode)) fail("is a directory");
        mode = existing.st_mode & 07777;
    }
    remove_stale_temporaries(directory, name);

    std::string temporary =
        directory / (name + std::string(temporary_marker) + std::to_string(::getpid()) + "-XXXXXX");
    const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (fd < 0) fail.system("cannot create a temporary file next to it");
    // Removes the temporary file, keeping errno for the message.
    const auto abandon = [&] {
        const int reason = errno;
        ::unlink(temporary.c_str());
        errno = reason;
    };
    try {
        write_all(fd, content, fail);
        if (::fchmod(fd, mode) != 0) fail.system(fmt::format("cannot set the permissions of '{}'", temporary));
        // The data reach the disk before the rename makes them the file.
        if (::fsync(fd) != 0) fail.system(fmt::format("cannot flush '{}'", temporary));
    } catch (...) {
        ::close(fd);
        abandon();
        throw;
    }
    if (::close(fd) != 0) {
        abandon();
        fail.system(fmt::format("cannot close '{}'", temporary));
    }
    if (std::rename(temporary.c_str(), target.c_str()) != 0) {
        abandon();
        fail.system(fmt::format("cannot rename '{}' to it", temporary));
    }
    // The rename survives a crash once the directory is on disk; file systems that cannot sync a directory say EINVAL.
    const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (directory_fd >= 0) {
        const bool synced = ::fsync(directory_fd) == 0 || errno == EINVAL;
        const int reason = errno;
        ::close(directory_fd);
        errno = reason;
        if (!synced) fail.system(fmt::format("written, but its directory '{}' cannot be flushed", directory.string()));
    }
}

void write_file(const std::string& path, std::string_view content) { write_file("write_file", path, content); }

}  // namespace xg
