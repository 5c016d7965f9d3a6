// Fuzz target: the input is one .npy array, stored as the entry a.npy of an .npz built around it.
#include "fuzz_input.hpp"

#include <xgrad/checkpoint.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = fuzz::scratch() / "input.npz";
    fuzz::write_file(path, fuzz::stored_zip("a.npy", fuzz::bytes(data, size)));
    fuzz::accepts([&] { xg::load_npz(path); });
    return 0;
}
