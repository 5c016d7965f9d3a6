#!/usr/bin/python3
"""Regenerates the seed corpora in fuzz/corpus/: small valid IDX, .npy, .npz and checkpoint files (from numpy
and from xgrad's own writers, through the make_corpus program) and a few invalid ones near the checks.

usage: fuzz/make_corpus.py BUILD_DIR   (a build with -Dtests=true, where fuzz/make_corpus was built)
"""
import gzip
import io
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def idx(dtype_code, array_bytes, shape):
    return bytes([0, 0, dtype_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + array_bytes


def idx_files():
    """Decompressed IDX contents: every element type, valid, and invalid just past each check."""
    images = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    files = {
        "images_u8.idx": idx(0x08, images.tobytes(), images.shape),
        "labels_u8.idx": idx(0x08, bytes([3, 1, 4, 1, 5]), (5,)),
        "labels_not_digits.idx": idx(0x08, bytes([12, 200]), (2,)),
        "labels_i8_negative.idx": idx(0x09, np.array([1, -2], dtype=np.int8).tobytes(), (2,)),
        "i16.idx": idx(0x0B, np.array([[1, -300, 7], [0, 2, 3]], dtype=">i2").tobytes(), (2, 3)),
        "i32.idx": idx(0x0C, np.array([70000, -1, 0, 5], dtype=">i4").tobytes(), (4,)),
        "f32.idx": idx(0x0D, np.array([[0.5, -1.25], [3.0, 1e30]], dtype=">f4").tobytes(), (2, 2)),
        "f64.idx": idx(0x0E, np.array([1.0, np.nan, -np.inf], dtype=">f8").tobytes(), (3,)),
        "four_dims.idx": idx(0x08, bytes(range(16)), (2, 2, 2, 2)),
        "zero_rows.idx": idx(0x08, b"", (0, 28, 28)),
        # Invalid: truncated data, a byte too many, bad magic, unknown type, no dimensions, truncated header.
        "truncated.idx": idx(0x08, images.tobytes()[:-1], images.shape),
        "trailing.idx": idx(0x08, images.tobytes() + b"\0", images.shape),
        "bad_magic.idx": b"\x01" + idx(0x08, images.tobytes(), images.shape)[1:],
        "bad_type.idx": idx(0x0A, b"\0\0", (2,)),
        "no_dims.idx": bytes([0, 0, 8, 0]),
        "short_header.idx": bytes([0, 0, 8, 3, 0, 0, 0, 1]),
    }
    return files


def npy_bytes(array, **kwargs):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, **kwargs)
    return out.getvalue()


def npy_files():
    rng = np.random.default_rng(0)
    files = {
        "f32_2x3.npy": npy_bytes(rng.standard_normal((2, 3)).astype(np.float32)),
        "f64_4.npy": npy_bytes(rng.standard_normal(4)),
        "f64_scalar.npy": npy_bytes(np.float64(7.0)),
        "f32_empty.npy": npy_bytes(np.zeros((0, 3), dtype=np.float32)),
        "f64_3d.npy": npy_bytes(rng.standard_normal((2, 1, 3))),
        "f64_version2.npy": npy_bytes(np.ones(3), version=(2, 0)),
        # Fortran order, big-endian and the dtypes converted as they are read.
        "f64_fortran.npy": npy_bytes(np.asfortranarray(rng.standard_normal((2, 3)))),
        "f32_fortran_3d.npy": npy_bytes(np.asfortranarray(rng.standard_normal((2, 3, 2)).astype(np.float32))),
        "f64_big_endian.npy": npy_bytes(np.ones(2, dtype=">f8")),
        "i64.npy": npy_bytes(np.arange(3)),
        "i16_big_endian_fortran.npy": npy_bytes(np.asfortranarray(np.arange(-3, 3, dtype=">i2").reshape(2, 3))),
        "u8.npy": npy_bytes(np.array([0, 2**53, 2**64 - 2**11], dtype=np.uint64)),
        "i32.npy": npy_bytes(np.array([-(2**31), 2**31 - 1], dtype=np.int32)),
        "u1.npy": npy_bytes(np.arange(5, dtype=np.uint8)),
        "bool.npy": npy_bytes(np.array([True, False])),
        "f16.npy": npy_bytes(np.array([1.0, -0.0, np.inf, np.nan, 6e-8], dtype=np.float16)),
        # Dtypes and values the reader must refuse with an error.
        "i64_past_float64.npy": npy_bytes(np.array([1, 2**53 + 1])),
        "bool_byte_2.npy": npy_bytes(np.array([0, 2], dtype=np.uint8).view(np.bool_)),
        "c128.npy": npy_bytes(np.array([1 + 2j])),
        "unicode.npy": npy_bytes(np.array(["a", "bc"])),
        "structured.npy": npy_bytes(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")])),
        "truncated.npy": npy_bytes(np.ones(4))[:-3],
    }
    return files


def zip_entries(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def main():
    build = pathlib.Path(sys.argv[1])
    for target in ("idx", "idx_gzip", "npy", "npz", "checkpoint"):
        shutil.rmtree(CORPUS / target, ignore_errors=True)
        (CORPUS / target).mkdir(parents=True)

    # idx reads files as stored: plain, and gzipped as MNIST ships; idx_gzip compresses its input itself.
    for name, content in idx_files().items():
        (CORPUS / "idx" / name).write_bytes(content)
        (CORPUS / "idx_gzip" / name).write_bytes(content)
    for name in ("images_u8.idx", "labels_u8.idx", "f64.idx", "truncated.idx"):
        (CORPUS / "idx" / (name + ".gz")).write_bytes(gzip.compress(idx_files()[name], mtime=0))

    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        subprocess.run([str(build / "fuzz" / "make_corpus"), str(scratch)], check=True)
        for name in ("arrays.npz", "empty.npz"):
            shutil.copy(scratch / name, CORPUS / "npz" / ("xgrad_" + name))
            for entry, content in zip_entries(scratch / name).items():
                (CORPUS / "npy" / ("xgrad_" + entry)).write_bytes(content)
        for name in ("model.npz", "fresh_optimizer.npz", "model_optimizer.npz", "model_optimizer_schedule.npz"):
            shutil.copy(scratch / name, CORPUS / "checkpoint" / name)
        checkpoint = dict(np.load(scratch / "model_optimizer_schedule.npz"))

    for name, content in npy_files().items():
        (CORPUS / "npy" / name).write_bytes(content)

    rng = np.random.default_rng(1)
    arrays = {"w": rng.standard_normal((3, 2)).astype(np.float32), "b": np.zeros(2), "s": np.float64(1.5)}
    np.savez(CORPUS / "npz" / "numpy_savez.npz", **arrays)
    np.savez_compressed(CORPUS / "npz" / "numpy_savez_compressed.npz", **arrays)
    np.savez(CORPUS / "npz" / "numpy_int.npz", i=np.arange(4))
    whole = (CORPUS / "npz" / "numpy_savez.npz").read_bytes()
    (CORPUS / "npz" / "truncated.npz").write_bytes(whole[: len(whole) // 2])

    # Checkpoints numpy rewrote: compressed, one entry dropped, one entry of another shape, one extra entry.
    np.savez_compressed(CORPUS / "checkpoint" / "numpy_compressed.npz", **checkpoint)
    dropped = dict(checkpoint)
    dropped.pop("fc1.bias")
    np.savez(CORPUS / "checkpoint" / "missing_entry.npz", **dropped)
    reshaped = dict(checkpoint, **{"fc2.weight": np.zeros((2, 4), dtype=np.float32)})
    np.savez(CORPUS / "checkpoint" / "wrong_shape.npz", **reshaped)
    np.savez(CORPUS / "checkpoint" / "extra_entry.npz", **checkpoint, extra=np.ones(1, dtype=np.float32))


if __name__ == "__main__":
    main()
