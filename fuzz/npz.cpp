// Fuzz target: the input is an .npz file as stored on disk (zip directory, entries, compression and arrays).
#include "fuzz_input.hpp"

#include <xgrad/checkpoint.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = fuzz::scratch() / "input.npz";
    fuzz::write_file(path, fuzz::bytes(data, size));
    fuzz::accepts([&] { xg::load_npz(path); });
    return 0;
}
