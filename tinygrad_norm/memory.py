"""How freed arrays are kept for the next step: glibc malloc's thresholds, set once when the package is imported.

A layer allocates fresh arrays on every call: outputs, gradients, saved values. glibc gives an array above its mmap
threshold pages of its own, mapped on the first write to each one and unmapped when it is freed, and it hands the
top of its heap back to the system once more than its trim threshold is free there. Both thresholds start at
128 KiB and rise as large arrays are freed: the mmap threshold to the size of the largest array freed so far, up to
32 MiB, the trim threshold to twice that. Where a step frees more than twice its largest array at once, the heap is
trimmed at the end of every step and the next step page-faults its memory anew: a small CNN whose convolutions
keep their columns for the backward (W3 of bench/bench_train_step.py) took 4,500 page faults and about 1.5x as
long per step.

``configure()`` sets the two thresholds where they can rise to on their own: arrays up to 32 MiB come from the heap,
and up to 64 MiB of free memory stays at its top for the next step. The peak resident memory of a step is the same
(memory is kept, not added); what a process frees after its largest step stays mapped up to 64 MiB. Left alone
when the user set any of glibc's malloc variables (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_,
MALLOC_MMAP_MAX_, or malloc tunables in GLIBC_TUNABLES), and where the C library is not glibc.
"""

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's largest dynamic mmap threshold on 64-bit systems ...
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # ... and the trim threshold it sets with it
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def configure() -> bool:
    """Set the thresholds above; True when they were set. Called once, when ``import tinygrad_norm`` runs."""
    if any(name in os.environ for name in MALLOC_VARIABLES) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (glibc's own symbol: another C library's mallopt means other things)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # no C library to open by name (Windows), or not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


CONFIGURED = configure()
