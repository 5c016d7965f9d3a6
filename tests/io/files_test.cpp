// Files are whole or absent: every saver writes through write_file, which keeps an existing file's mode, writes
// through symbolic links, removes what killed saves left, and on any failure leaves the old file as it was.
#include "check.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using check::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

mode_t mode_of(const std::string& path) {
    struct stat info;
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

// Runs `save` in a child process whose files may not grow past `limit` bytes (the disk-full and quota case:
// SIGXFSZ ignored, so writes fail with EFBIG), and returns the message it failed with.
std::string failure_under_file_size_limit(rlim_t limit, const std::function<void()>& save) {
    int pipe_ends[2];
    REQUIRE(::pipe(pipe_ends) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_ends[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit rl{limit, limit};
        ::setrlimit(RLIMIT_FSIZE, &rl);
        std::string message = "saved";
        try {
            save();
        } catch (const xg::Error& e) {
            message = e.what();
        }
        const ssize_t written = ::write(pipe_ends[1], message.data(), message.size());
        ::_exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
    }
    ::close(pipe_ends[1]);
    std::string message;
    char buffer[512];
    for (ssize_t n; (n = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;)
        message.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_ends[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    return message;
}

}  // namespace

TEST_CASE("write_file replaces the whole file, keeps its mode and writes through a symbolic link") {
    TempDir dir;
    const std::string path = dir / "notes.csv";
    xg::write_file(path, "a,b\n1,2\n");
    CHECK(read_file(path) == "a,b\n1,2\n");
    CHECK(mode_of(path) == (0666 & ~[] {
              const mode_t mask = ::umask(0);
              ::umask(mask);
              return mask;
          }()));

    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    xg::write_file(path, "x\n");
    CHECK(read_file(path) == "x\n");
    CHECK(mode_of(path) == 0600);

    fs::create_directory(dir / "real");
    xg::write_file(dir / "real/target.csv", "old\n");
    fs::create_symlink("real/target.csv", dir / "link.csv");
    xg::write_file(dir / "link.csv", "new\n");
    CHECK(fs::is_symlink(dir / "link.csv"));
    CHECK(read_file(dir / "real/target.csv") == "new\n");

    CHECK(check::error_message([&] { xg::write_file(dir / "real", "x"); }) ==
          "write_file: '" + (dir / "real") + "': is a directory");
    CHECK(dir.files() == std::vector<std::string>{"link.csv", "notes.csv", "real"});
}

TEST_CASE("the next save to a path removes the temporary files of saves that were killed, and only those") {
    TempDir dir;
    const std::string path = dir / "model.npz";
    // A process that has exited: its pid is free until reused, and a reused pid only keeps the file.
    const pid_t gone = ::fork();
    REQUIRE(gone >= 0);
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    const std::string stale = path + ".xgrad-" + std::to_string(gone) + "-AbC123";
    const std::string running = path + ".xgrad-1-AbC123";  // pid 1 always runs
    const std::string other = dir / "other.npz.xgrad-" + std::to_string(gone) + "-AbC123";
    for (const std::string& file : {stale, running, other}) std::ofstream(file) << "partial";
    xg::save_npz(path, {{"a", xg::Var(1.0)}});
    CHECK(!fs::exists(stale));
    CHECK(fs::exists(running));
    CHECK(fs::exists(other));
}

TEST_CASE("a save that cannot be written whole fails, names the file, and leaves the old one as it was") {
    TempDir dir;
    xg::Generator g(1);
    const xg::Var big = xg::randn({64, 64}, g);
    const std::string checkpoint = dir / "model.npz";
    xg::save_npz(checkpoint, {{"w", xg::Var(1.0)}});
    const std::string old_checkpoint = read_file(checkpoint);
    CHECK(failure_under_file_size_limit(4096, [&] { xg::save_npz(checkpoint, {{"w", big}}); })
              .starts_with("save_npz: '" + checkpoint + "': cannot write ("));
    CHECK(read_file(checkpoint) == old_checkpoint);

#if XGRAD_HAS_PLOT
    const std::string plot = dir / "curve.svg";
    xg::plot::line_chart({{"short", {0, 1}, {0, 1}}}, plot);
    const std::string old_plot = read_file(plot);
    std::vector<double> x(2000), y(2000);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = y[i] = static_cast<double>(i);
    const std::string message =
        failure_under_file_size_limit(old_plot.size() + 100, [&] { xg::plot::line_chart({{"long", x, y}}, plot); });
    CHECK(message.starts_with("line_chart: '" + plot + "': cannot write ("));
    CHECK(message.ends_with("bytes left): File too large"));
    CHECK(read_file(plot) == old_plot);
#endif

    xg::History history;
    history.epochs.resize(200);
    const std::string csv = dir / "history.csv";
    xg::write_file(csv, "epoch\n");
    CHECK(failure_under_file_size_limit(64, [&] { history.save_csv(csv); })
              .starts_with("History::save_csv: '" + csv + "': cannot write ("));
    CHECK(read_file(csv) == "epoch\n");
    std::vector<std::string> written{"history.csv", "model.npz"};
    if (XGRAD_HAS_PLOT) written.insert(written.begin(), "curve.svg");
    CHECK(dir.files() == written);
}
