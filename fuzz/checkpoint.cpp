// Fuzz target: the input is a checkpoint file, loaded into a small fixed model alone, with its Adam optimizer,
// and with its schedule too (each variant accepts and checks different entries); a loaded state is then used
// for a training step.
#include "checkpoint_subject.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = fuzz::scratch() / "input.npz";
    fuzz::write_file(path, fuzz::bytes(data, size));
    // A fresh subject per input keeps every run independent of the ones before it.
    fuzz::CheckpointSubject subject(1);
    fuzz::accepts([&] { xg::load(path, subject.net); });
    fuzz::accepts([&] { xg::load(path, subject.net, subject.adam); });
    if (fuzz::accepts([&] { xg::load(path, subject.net, subject.adam, subject.schedule); }))
        fuzz::accepts([&] { subject.train_step(); });
    return 0;
}
