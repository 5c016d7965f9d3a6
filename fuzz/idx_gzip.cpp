// Fuzz target: the input is the decompressed content of a gzip IDX file, compressed here first, so the fuzzer
// mutates headers and sizes behind the decompression instead of breaking the gzip stream.
#include "idx_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::exercise_idx(fuzz::bytes(data, size), true);
    return 0;
}
