// Fuzz target: the input is an IDX file as stored on disk (zlib reads a plain file through unchanged, and a
// gzip one when the fuzzer happens on its magic).
#include "idx_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::exercise_idx(fuzz::bytes(data, size), false);
    return 0;
}
