"""The thread policy of ``kernels/_threads.py``: from the import on, before any kernel, BLAS runs on one thread, unless
the user chose a count; ``set_num_threads`` sets Numba's count, which then runs the products too, and BLAS's only
where the user chose BLAS's count. Each case runs in a fresh
Python process, as the policy is applied once per process."""

import json
import os
import subprocess
import sys

import pytest
from tinygrad_norm.kernels._threads import BLAS_THREAD_VARIABLES

pytestmark = pytest.mark.slow

POLICY_SCRIPT = """
import json
import numpy as np, threadpoolctl
import tinygrad_norm
from tinygrad_norm.kernels import cpu

def blas():
    pools = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    # numpy's BLAS (in a wheel, a library inside numpy's folder); SciPy's, which Numba may load, does no work here
    return sorted({pool["num_threads"] for pool in [p for p in pools if "numpy" in p["filepath"]] or pools})

after_import = blas()  # the first product of a training step comes before any parallel kernel
x = np.ones((64, 8), np.float32)
cpu.dropout_forward(x.reshape(-1, 1), 0.5, 1, 0, np.empty_like(x).reshape(-1, 1))  # a parallel kernel
assert blas() == after_import, (after_import, blas())
print(json.dumps(after_import))
"""


def blas_threads_after_import(**environment):
    env = {key: value for key, value in os.environ.items() if key not in BLAS_THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", POLICY_SCRIPT], env={**env, **environment}, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_blas_runs_on_one_thread_by_default():
    assert blas_threads_after_import() == [1]


@pytest.mark.parametrize("variable", BLAS_THREAD_VARIABLES)
def test_a_blas_thread_count_the_user_chose_is_kept(variable):
    assert blas_threads_after_import(**{variable: "2"}) == [2]


NUM_THREADS_SCRIPT = """
import json, threadpoolctl
import tinygrad_norm as tn

def blas():
    pools = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    return sorted({pool["num_threads"] for pool in [p for p in pools if "numpy" in p["filepath"]] or pools})

seen = {}
tn.set_num_threads(1)
seen["one"] = [tn.get_num_threads(), blas()]
tn.set_num_threads(2)
seen["two"] = [tn.get_num_threads(), blas()]
errors = []
for bad in (0, 3, 1.5, True, "2"):
    try:
        tn.set_num_threads(bad)
    except (TypeError, ValueError) as error:
        errors.append(type(error).__name__)
seen["errors"] = errors
print(json.dumps(seen))
"""


@pytest.mark.parametrize("user_blas_threads", [None, "2"])
def test_set_num_threads_sets_blas_only_where_the_user_chose_its_count(user_blas_threads):
    env = {key: value for key, value in os.environ.items() if key not in BLAS_THREAD_VARIABLES}
    env["NUMBA_NUM_THREADS"] = "2"
    if user_blas_threads:
        env["OPENBLAS_NUM_THREADS"] = user_blas_threads
    result = subprocess.run([sys.executable, "-c", NUM_THREADS_SCRIPT], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stderr[-3000:]}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["one"] == [1, [1]]
    assert seen["two"] == [2, [2] if user_blas_threads else [1]]  # under the policy, Numba's threads run products
    assert seen["errors"] == ["ValueError", "ValueError", "TypeError", "TypeError", "TypeError"]
