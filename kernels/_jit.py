"""How this package's Numba CPU functions are compiled and called: ``njit`` is ``numba.njit`` with the options below.

- The cache of ``_numba_cache``: on disk when a folder is usable, else in memory; a damaged entry costs a compilation.
- ``error_model="numpy"``: a division by zero gives inf or nan as in the reference (eps = 0 with a constant row, an
  empty row) instead of raising ZeroDivisionError.
- ``fastmath={"reassoc"}`` unless ``reassociate=False``: sums may be reordered, so the reductions vectorize; nan and
  inf handling stays exact. Kernels that must give the reference's bits (the optimizer updates) turn it off.

Thread safety. Any kernel may be called from several Python threads at once. Numba's ``omp`` and ``tbb`` threading
layers run parallel kernels from several threads side by side; its ``workqueue`` layer (the one left when neither
is installed, or chosen by ``NUMBA_THREADING_LAYER``) aborts the process when two threads launch parallel kernels
at once. So until the first launch shows which layer Numba chose, and for good when it is ``workqueue``, the parallel
kernels run one at a time behind one lock. How the threads wait and how many BLAS uses is ``_threads.py``'s policy,
applied when it is imported, below.
"""

import functools
import threading

import numba

from . import _numba_cache, _threads  # noqa: F401  (_threads: the thread policy, applied on import)

OPTIONS = dict(error_model="numpy")
_launch_lock = threading.Lock()
_launches_may_overlap = False  # True once a launch has shown a threading layer other than workqueue


def njit(*, parallel=False, reassociate=True):
    """``@njit()`` or ``@njit(parallel=True)``: a Numba function with the package's cache and options."""
    fastmath = {"reassoc"} if reassociate else False

    def decorate(py_func):
        # cache=False here: _numba_cache.attach gives the function its cache, or none where no folder is usable
        jit = numba.njit(cache=False, parallel=parallel, fastmath=fastmath, **OPTIONS)
        dispatcher = _numba_cache.attach(jit(py_func))
        return _one_launch_at_a_time(dispatcher) if parallel else dispatcher

    return decorate


def _threading_layer():
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None


def _one_launch_at_a_time(kernel):
    """``kernel``, called behind the launch lock unless Numba's threading layer is known to be thread-safe."""

    @functools.wraps(kernel, updated=())
    def launch(*args):
        global _launches_may_overlap
        if _launches_may_overlap:
            return kernel(*args)
        with _launch_lock:
            result = kernel(*args)
            _launches_may_overlap = _threading_layer() not in (None, "workqueue")
        return result

    return launch
