// Feeds every file under the given files or directories to the target's LLVMFuzzerTestOneInput, for builds
// without libFuzzer (the sanitizer test build replays the corpora and crash inputs this way). An exception
// other than xg::Error is a failure; a crash or a sanitizer report ends the run, after the file's name printed.
// Ends with doctest's summary line, one "test case" per file, which test.sh counts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const fs::path argument = argv[i];
        if (fs::is_directory(argument)) {
            for (const auto& entry : fs::recursive_directory_iterator(argument))
                // READMEs and .gitkeep document a folder; they are no inputs.
                if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".") &&
                    entry.path().filename() != "README.md")
                    files.push_back(entry.path());
        } else if (fs::is_regular_file(argument)) {
            files.push_back(argument);
        } else {
            std::cerr << "replay: no file or directory " << argument << "\n";
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    std::size_t failed = 0;
    for (const fs::path& file : files) {
        std::cout << "replay " << file.string() << std::endl;  // flushed: a crash must leave the culprit's name
        std::ifstream in(file, std::ios::binary);
        const std::vector<char> content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(content.data()), content.size());
        } catch (const std::exception& e) {
            std::cout << "FAILED " << file.string() << ": exception other than xg::Error: " << e.what() << "\n";
            ++failed;
        } catch (...) {
            std::cout << "FAILED " << file.string() << ": a thrown object that is not an exception\n";
            ++failed;
        }
    }
    std::cout << "[doctest] test cases: " << files.size() << " | " << files.size() - failed << " passed | " << failed
              << " failed | 0 skipped\n";
    return failed == 0 ? 0 : 1;
}
