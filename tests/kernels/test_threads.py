"""The CPU kernels called from several Python threads at once: the same results as one call at a time, under
Numba's default threading layer and under ``workqueue``, which aborts the process when two threads launch parallel
kernels at once unless the launches are serialized (``_jit.py``). Each case runs in a fresh Python process, as the
threading layer is chosen once per process."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

THREADS_SCRIPT = """
import threading
import numba, numpy as np
from tinygrad_norm.kernels import cpu, reference

rng = np.random.default_rng(0)
x = rng.standard_normal((64, 48, 33)).astype(np.float32)
columns = rng.standard_normal((512, 64, 1)).astype(np.float32)

def row_norm(module):
    y, mean, rstd, dx = np.empty_like(x), np.empty((64, 4)), np.empty((64, 4)), np.empty_like(x)
    module.row_norm_forward(x, None, None, 4, 1e-5, True, y, mean, rstd)
    module.row_norm_backward(x, x, mean, rstd, None, 4, True, dx, None, None)
    return y, dx

def channel_norm(module):
    y, dx, stats = np.empty_like(columns), np.empty_like(columns), [np.empty(64) for _ in range(3)]
    module.channel_norm_forward(columns, None, None, 1e-5, y, *stats)
    module.channel_norm_backward(columns, columns, stats[0], stats[1], None, True, dx, None, None)
    return y, dx

def dropout(module):
    y = np.empty_like(x)
    module.dropout_forward(x.reshape(-1, 1), 0.5, 7, 3, y.reshape(-1, 1))
    return (y,)

calls = [row_norm, channel_norm, dropout]
expected = [call(reference) for call in calls]
failures = []

def work(k):
    for i in range(40):
        call = calls[(i + k) % len(calls)]
        for got, want in zip(call(cpu), expected[calls.index(call)]):
            if not np.allclose(got, want, rtol=1e-5, atol=1e-5):
                failures.append(call.__name__)

threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(numba.threading_layer(), "failures:", len(failures))
"""


@pytest.mark.parametrize("layer", ["workqueue", "default"])
def test_parallel_kernels_from_four_threads_at_once(layer):
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, "NUMBA_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stderr[-3000:]}"
    chosen, _, failures = result.stdout.split()
    assert failures == "0"
    if layer == "workqueue":
        assert chosen == "workqueue"
