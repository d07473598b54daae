"""Reader (and writer) for IDX files, the format of full MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, the sizes of its dimensions and the data:

    bytes 0-1   zero
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4*d bytes   each dimension's size, big-endian uint32
    the rest    prod(sizes) values, big-endian, in C order

The files are often gzipped (train-images-idx3-ubyte.gz); ``read_idx`` recognises gzip by its own
magic bytes, not by the file name. ``load_mnist_dir`` reads the four standard files from a folder,
which is what ``minigen.data.load("mnist:PATH")`` calls.
"""
import gzip
import os
import zlib

import numpy as np

IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
GZIP_MAGIC = b"\x1f\x8b"

# The standard names; some mirrors write a dot instead of the hyphen before "idx".
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _read_bytes(path):
    """The (decompressed) bytes of ``path``, raising errors that name the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IDX file {path} does not exist")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"IDX file {path} is a damaged or truncated gzip file ({exc})") from exc
    return data


def read_idx(path):
    """Read one IDX file (gzipped or not) into a NumPy array in native byte order."""
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise ValueError(f"IDX file {path} has a bad magic number {data[:4].hex() or '(empty)'}; "
                         f"expected 0000 then a dtype code in "
                         f"{[f'{c:02x}' for c in IDX_DTYPES]} then the number of dimensions")
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"IDX file {path} is truncated: its header announces {ndim} dimensions "
                         f"({header} header bytes) but the file has {len(data)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise ValueError(f"IDX file {path} is {what}: dimensions {dims} of {dtype.name} need "
                         f"{expected} data bytes, found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file; gzip it when ``compress`` is True or the path ends in .gz."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"IDX cannot store dtype {array.dtype}; use one of "
                        f"{sorted({str(d) for d in codes})}")
    big = IDX_DTYPES[codes[native]]
    payload = (bytes([0, 0, codes[native], array.ndim])
               + np.asarray(array.shape, dtype=">u4").tobytes()
               + np.ascontiguousarray(array, dtype=big).tobytes())
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(payload) if compress else payload)


def find_idx_file(directory, stem):
    """The path of ``stem`` in ``directory``, gzipped or not, hyphen or dot before 'idx'."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"no {stem}[.gz] in {directory}; an MNIST or Fashion-MNIST folder "
                            f"holds {', '.join(s for pair in MNIST_FILES.values() for s in pair)} "
                            f"(each optionally .gz)")


def load_mnist_dir(directory, split):
    """(uint8 images (N, H, W), int64 labels (N,)) of the train or t10k files in ``directory``."""
    directory = os.fspath(directory)
    if os.path.isfile(directory):
        raise NotADirectoryError(f"{directory} is a file; mnist:PATH needs the folder that holds "
                                 f"the IDX files (train-images-idx3-ubyte[.gz] ...)")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"MNIST folder {directory} does not exist")
    image_stem, label_stem = MNIST_FILES[split]
    image_path = find_idx_file(directory, image_stem)
    label_path = find_idx_file(directory, label_stem)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{image_path} should hold uint8 images (N, H, W), "
                         f"got {images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{label_path} should hold {len(images)} labels to match {image_path}, "
                         f"got shape {labels.shape}")
    return images, labels.astype(np.int64)
