"""The numba.cuda kernels against the reference, over the shared cases of cases.py.

On a machine with a CUDA GPU the cases run in this process, at cases.py's full sizes. Everywhere,
``test_cases_pass_on_the_simulator`` runs them again in child pytest processes with ``NUMBA_ENABLE_CUDASIM=1``
(Numba's CUDA simulator, which runs every thread as a Python thread), at cases.py's small sizes, so CI without a
GPU still executes every kernel. BLOCK_CASES add rows and channels shorter and longer than a block of either size
(BLOCK_SIZE is 16 on the simulator, 256 on a GPU), and channel norms whose channels are split over several blocks
and ones that are not; BOX_LOOP_CASES give each block of the backward several boxes
(BACKWARD_BLOCKS is 4 on the simulator, 512 on a GPU).
"""

import importlib
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numba import config, cuda

from .cases import (
    DropoutCase,
    NormCase,
    channel_norm_cases,
    check_channel_norm,
    check_channel_norm_sync,
    check_dropout,
    check_row_norm,
    dropout_cases,
    row_norm_cases,
    sync_channel_norm_cases,
)

SIMULATOR = bool(config.ENABLE_CUDASIM)


def serialize_simulator_shared_arrays():
    """numba-cuda's simulator (0.30) creates a block's ``cuda.shared.array`` when a thread first asks for it,
    without a lock: two threads can each create one and sum into different arrays, now and then. This creates it
    under a lock, keyed as the simulator keys it, by the calling file and line (static arrays only)."""
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    lock = threading.Lock()

    def array(self, shape, dtype, alignment=None):
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            if key not in self._allocations:
                self._allocations[key] = np.empty(shape, dtype)
            return self._allocations[key]

    FakeCUDAShared.array = array


if SIMULATOR:
    sys.setswitchinterval(1e-4)  # the simulator's threads meet at every barrier: hand the GIL over sooner
    serialize_simulator_shared_arrays()

requires_cuda = pytest.mark.skipif(
    not cuda.is_available(), reason="no CUDA GPU here: test_cases_pass_on_the_simulator runs these cases"
)
requires_gpu = pytest.mark.skipif(
    SIMULATOR or not cuda.is_available(), reason="device arrays with arbitrary strides need a real GPU"
)

# name: (check, case given the block size k). Rows and channels around a block, and more rows than
# channel_sum_kernel's SUM_ROW_LANES (8), so its stage-2 reduction adds across lanes.
BLOCK_CASES = {
    "layer_norm_2k+3": (check_row_norm, lambda k: NormCase((2, 2 * k + 3, 1))),
    "layer_norm_rows_k/2+3": (check_row_norm, lambda k: NormCase((k // 2 + 3, 5, 1), np.float32)),
    "rms_norm_k+5": (check_row_norm, lambda k: NormCase((3, k + 5, 1), np.float32, center=False)),
    "group_norm_strided_2k+18": (check_row_norm, lambda k: NormCase((2, 4, k + 9), groups=2, layout="strided")),
    "instance_norm_k-1": (check_row_norm, lambda k: NormCase((2, 3, k - 1), np.float32, groups=3, affine="weight")),
    "batch_norm_1d_2k+1": (check_channel_norm, lambda k: NormCase((2 * k + 1, 3, 1), values="mean_1e4_std_1e-2")),
    "batch_norm_2d_transposed_3k/2+3": (
        check_channel_norm,
        lambda k: NormCase((3, 2, k // 2 + 1), np.float32, layout="transposed"),
    ),
    "batch_norm_split_4k+12_per_channel": (  # 4 slices per channel (see _channel_slices), x transposed
        check_channel_norm,
        lambda k: NormCase((4, 2, k + 3), np.float32, layout="transposed"),
    ),
    "dropout_3k+7_rows": (check_dropout, lambda k: DropoutCase((3 * k + 7, 1), 0.3, 2**64 - 1, 2**64 - 3)),
}

# name: (case given the backward's block bound k). More rows than the backward's blocks, so each block adds several
# boxes into its scratch row, unevenly: G = 1 gives k blocks of 2-3 rows each, G = 2 gives k / 2 blocks per group.
BOX_LOOP_CASES = {
    "layer_norm_2k+3_rows": lambda k: NormCase((2 * k + 3, 5, 2)),
    "group_norm_2k+3_rows": lambda k: NormCase((2 * k + 3, 4, 3), np.float32, groups=2),
    "rms_norm_2k+3_rows": lambda k: NormCase((2 * k + 3, 6, 1), center=False, affine="weight"),
}

# Full sizes on a GPU, small ones on the simulator; none where numba.cuda is unusable (the simulator runs them).
ROW_CASES, CHANNEL_CASES, SYNC_CASES, DROPOUT_CASES = (
    (row_norm_cases(SIMULATOR), channel_norm_cases(SIMULATOR), sync_channel_norm_cases(SIMULATOR),
     dropout_cases(SIMULATOR))
    if cuda.is_available()
    else ([], [], [], [])
)
STRIDED_CASES = [
    pytest.param(check, case, id=f"{family}-{case}")
    for family, check, cases in (("row", check_row_norm, ROW_CASES), ("channel", check_channel_norm, CHANNEL_CASES))
    for case in cases
    if case.layout != "contiguous"
]


@pytest.fixture(scope="module")
def kernels():
    from tinygrad_norm.kernels import cuda as kernels

    return kernels


# ---------------------------------------------------------------------------------------------------------------
# cases, run in this process (GPU) or in the simulator's child process


@requires_cuda
@pytest.mark.parametrize("case", ROW_CASES, ids=str)
def test_row_norm_matches_reference(kernels, case):
    check_row_norm(kernels, case)


@requires_cuda
@pytest.mark.parametrize("case", CHANNEL_CASES, ids=str)
def test_channel_norm_matches_reference(kernels, case):
    check_channel_norm(kernels, case)


@requires_cuda
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's mean of an empty share; 0 / 0 on the simulator
@pytest.mark.parametrize("case", SYNC_CASES, ids=str)
def test_channel_norm_in_shares_matches_reference(kernels, case):
    check_channel_norm_sync(kernels, case)


@requires_cuda
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the simulator's uint64 numpy scalars
@pytest.mark.parametrize("case", DROPOUT_CASES, ids=str)
def test_dropout_matches_reference_bit_for_bit(kernels, case):
    check_dropout(kernels, case)


@requires_cuda
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("name", BLOCK_CASES if cuda.is_available() else [])
def test_sizes_around_a_block(kernels, name):
    check, case = BLOCK_CASES[name]
    check(kernels, case(kernels.BLOCK_SIZE))


@requires_cuda
@pytest.mark.parametrize("name", BOX_LOOP_CASES if cuda.is_available() else [])
def test_backward_blocks_loop_over_several_boxes(kernels, name):
    check_row_norm(kernels, BOX_LOOP_CASES[name](kernels.BACKWARD_BLOCKS))


def to_device_keeping_strides(array):
    """A device array with ``array``'s shape and strides: cases.py's layouts are views, at offset 0, of a
    C-contiguous base, which is copied over whole."""
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    if array.flags.c_contiguous:
        return cuda.to_device(array)
    base = cuda.to_device(array.base)
    return DeviceNDArray(array.shape, array.strides, array.dtype, gpu_data=base.gpu_data)


@requires_gpu
@pytest.mark.parametrize(("check", "case"), STRIDED_CASES)
def test_strided_device_arrays_on_gpu(kernels, check, case):
    """Device arrays are used in place: the kernels index transposed and strided x and dy through their strides."""
    check(kernels, case, asarray=to_device_keeping_strides, asnumpy=lambda a: a.copy_to_host())


@pytest.mark.skipif(cuda.is_available(), reason="numba.cuda is usable here")
def test_import_fails_clearly_without_cuda():
    with pytest.raises(ImportError, match="NUMBA_ENABLE_CUDASIM=1"):
        importlib.import_module("tinygrad_norm.kernels.cuda")


# ---------------------------------------------------------------------------------------------------------------
# the same cases on the simulator, in child processes (the simulator replaces numba.cuda for a whole process)


@pytest.mark.slow
def test_cases_pass_on_the_simulator():
    """Two child processes side by side, one per core: the simulator is single-threaded Python."""
    shards = ["row_norm", "not row_norm"]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                __file__,
                "-q",
                "-p",
                "no:cacheprovider",
                "-k",
                f"not on_the_simulator and not on_gpu and not without_cuda and {shard}",
            ],
            env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"),
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for shard in shards
    ]
    reports = [child.communicate(timeout=600)[0][-20000:] for child in children]
    passed = 0
    for child, report in zip(children, reports, strict=True):
        assert child.returncode == 0, report
        summary = re.search(r"^(\d+) passed, \d+ deselected(?:, \d+ warnings?)? in ", report, re.M)
        assert summary is not None, report  # nothing failed, skipped or errored
        passed += int(summary.group(1))
    simulated = (len(row_norm_cases(True)) + len(channel_norm_cases(True)) + len(sync_channel_norm_cases(True))
                 + len(dropout_cases(True)))
    assert passed == simulated + len(BLOCK_CASES) + len(BOX_LOOP_CASES)
