"""IDX files (full MNIST / Fashion-MNIST): parsing, errors that name the file, and mnist:PATH."""
import gzip
import struct

import numpy as np
import pytest

from minigen import data
from minigen.data.idx import read_idx, write_idx


def _idx_bytes(code, dims, payload):
    """An IDX file written by hand, independently of write_idx."""
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


def test_read_idx_parses_a_hand_written_uint8_file(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x08, (2, 2, 3), bytes(range(12))))
    array = read_idx(path)
    assert array.dtype == np.uint8 and array.shape == (2, 2, 3)
    np.testing.assert_array_equal(array, np.arange(12).reshape(2, 2, 3))


def test_read_idx_reads_big_endian_int32_and_float32(tmp_path):
    path = tmp_path / "ints"
    path.write_bytes(_idx_bytes(0x0C, (3,), struct.pack(">3i", 1, -2, 70000)))
    np.testing.assert_array_equal(read_idx(path), [1, -2, 70000])
    path.write_bytes(_idx_bytes(0x0D, (2,), struct.pack(">2f", 1.5, -0.25)))
    out = read_idx(path)
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, [1.5, -0.25])


def test_read_idx_recognises_gzip_by_content_not_by_name(tmp_path):
    raw = _idx_bytes(0x08, (4,), bytes([9, 8, 7, 6]))
    (tmp_path / "labels.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "labels-without-suffix").write_bytes(gzip.compress(raw))
    for name in ("labels.gz", "labels-without-suffix"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), [9, 8, 7, 6])


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_idx_then_read_idx_round_trips(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "not-idx.bin"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(ValueError, match=r"not-idx\.bin has a bad magic number 504b0304"):
        read_idx(path)


def test_unknown_dtype_code_is_a_bad_magic(tmp_path):
    path = tmp_path / "odd"
    path.write_bytes(_idx_bytes(0x07, (1,), b"\x00"))
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")


def test_truncated_data_names_the_file_and_the_byte_counts(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x08, (2, 28, 28), bytes(1000)))
    with pytest.raises(ValueError, match=r"short-idx3-ubyte is truncated.*1568 data bytes, found 1000"):
        read_idx(path)


def test_truncated_header_and_damaged_gzip_are_reported(tmp_path):
    path = tmp_path / "header"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="header.*truncated|truncated.*header"):
        read_idx(path)
    zipped = tmp_path / "cut.gz"
    zipped.write_bytes(gzip.compress(_idx_bytes(0x08, (100,), bytes(100)))[:-12])
    with pytest.raises(ValueError, match=r"cut\.gz is a damaged or truncated gzip"):
        read_idx(zipped)


def test_extra_trailing_bytes_are_an_error(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(_idx_bytes(0x08, (2,), bytes(5)))
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(path)


def _write_mnist_folder(folder, gz, n_train=12, n_test=5, side=28):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_path_loads_both_splits_scaled_to_minus_one_one(tmp_path, gz):
    arrays = _write_mnist_folder(tmp_path, gz)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        ds = data.load(f"mnist:{tmp_path}", split)
        images, labels = arrays[prefix]
        assert ds.x.shape == (len(images), 1, 28, 28) and ds.x.dtype == np.float32
        assert ds.levels == 256 and ds.num_classes == 10 and ds.shape == (1, 28, 28)
        np.testing.assert_array_equal(data.to_levels(ds.x[:, 0], 256), images)
        np.testing.assert_array_equal(ds.y, labels.astype(np.int64))
        assert ds.y.dtype == np.int64


def test_mnist_path_accepts_the_dotted_file_names_of_some_mirrors(tmp_path):
    write_idx(tmp_path / "t10k-images.idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.ones(3, np.uint8))
    assert len(data.load(f"mnist:{tmp_path}", "test")) == 3


def test_mnist_path_with_a_missing_file_names_the_folder_and_the_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError, match=f"no train-labels-idx1-ubyte.*in {tmp_path}"):
        data.load(f"mnist:{tmp_path}")
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        data.load(f"mnist:{tmp_path / 'does-not-exist'}")


def test_mnist_path_with_mismatched_counts_names_both_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte should hold 3 labels"):
        data.load(f"mnist:{tmp_path}")


def test_mnist_without_a_path_is_refused():
    with pytest.raises(ValueError, match="needs a folder"):
        data.load("mnist:")
