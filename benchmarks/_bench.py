"""What every benchmark shares: its command line with ``--threads``, applied before NumPy loads,
this checkout's minigen first on the path, and a description of NumPy's BLAS.

    import _bench as bench              # before numpy: puts this checkout on sys.path

    def parse_args():
        parser = bench.parser(__doc__)  # --threads is already there
        parser.add_argument("--repeats", type=int, default=10)
        return bench.parse(parser)

Files whose name starts with an underscore are helpers, not benchmarks.
"""
import argparse
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

# OpenBLAS reads these when NumPy loads it, and minigen sizes its unfolding blocks by them
# (ops/im2col.py), so --threads must be applied before the first import of numpy
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parser(doc):
    """An argument parser described by the first line of ``doc``, with --threads."""
    result = argparse.ArgumentParser(description=doc.split("\n")[0])
    result.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: NumPy's BLAS default)")
    return result


def parse(parser):
    """The parsed arguments, with --threads written to the BLAS variables (call before numpy)."""
    args = parser.parse_args()
    if args.threads is not None:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(args.threads)
    return args


def blas_info():
    """(threads, description) of NumPy's BLAS, from threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threads = int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count()))
        return threads, "threadpoolctl not installed; assuming OPENBLAS_NUM_THREADS or one " \
                        "thread per core"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    pools.sort(key=lambda p: "numpy" not in p.get("filepath", ""))  # NumPy's own BLAS first
    if not pools:
        return os.cpu_count(), "no BLAS pool found by threadpoolctl"
    pool = pools[0]
    return pool["num_threads"], (f"{pool['internal_api']} {pool.get('version')}, kernel "
                                 f"{pool.get('architecture')}, {pool['num_threads']} threads")
