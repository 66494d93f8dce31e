"""The allocator policy of tinygrad_norm/memory.py: glibc keeps freed arrays for the next step, unless the user set
its malloc variables."""

import os
import subprocess
import sys

import pytest

from tinygrad_norm import memory

# Ten 2 MB arrays written and freed, five times over (a step's arrays); the minor page faults of the last four
# rounds. Under glibc's own thresholds each round maps and faults its pages anew (the arrays are below numpy's
# 4 MiB for huge pages, so each 4 KiB page faults alone); under the policy's they stay for the next round.
ROUNDS = """
import resource, sys
import numpy as np
{imports}
def round():
    arrays = [np.ones(500_000, np.float32) for _ in range(10)]
    del arrays
round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    round()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(imports, **environment):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")} | environment
    script = ROUNDS.format(imports=imports)
    return int(subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                              text=True).stdout)


@pytest.fixture
def glibc():
    if not memory.CONFIGURED:
        pytest.skip("memory.configure() set nothing here: the C library is not glibc, or MALLOC_ variables are set")


def test_freed_arrays_are_kept_for_the_next_step(glibc):
    pages = 4 * 10 * 2_000_000 // 4096
    assert faults("") > pages / 2  # glibc's own thresholds: every round faults its pages
    assert faults("import tinygrad_norm") < pages / 100


def test_the_users_malloc_variables_are_left_alone(glibc):
    pages = 4 * 10 * 2_000_000 // 4096
    assert faults("import tinygrad_norm", MALLOC_TOP_PAD_="131072") > pages / 2
