"""How Numba's and BLAS's thread pools share the cores: the one place that changes thread settings.

Two pools run our work: Numba's (the parallel kernels) and the BLAS library's under numpy's matrix products. Each
keeps its threads busy-waiting after a call, ready for the next one: numpy's OpenBLAS for about 0.1 s of CPU after
every multi-threaded product, Numba's OpenMP threads for a few milliseconds after a parallel kernel. In a training
step the two alternate, so OpenBLAS's waiting threads hold the cores that Numba's kernels need, and a product split
over both cores waits for whichever core a neighbour process holds. Measured on whole training steps
(bench/bench_train_step.py; the numbers are in README, "Threads"), one BLAS thread gave the best times beside a
CPU-bound neighbour and times within noise of the best quiet ones, whatever Numba's threads do while they wait:

- BLAS runs on one thread: a single-threaded BLAS never wakes its workers, so nothing of it spins between our
  kernels. The products still use every core: ``cpu_matmul.py`` cuts them into blocks that Numba's threads hand
  to BLAS one each, so a single pool runs the whole step. Left alone when the user chose a count
  (OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS or BLIS_NUM_THREADS set); BLAS then splits its products
  itself.
- Numba keeps its thread count (every core, or NUMBA_NUM_THREADS) and OpenMP's wait policy (OMP_WAIT_POLICY).
  A passive policy (threads sleep at once) was measured too: no faster in training steps beside a neighbour, and
  slower for kernels called back to back, each of which then wakes its threads again.

``configure()`` applies this once, when this module is imported (``import tinygrad_norm`` does), so that the first
matrix product already runs under it: a product split over two threads rounds differently from one on one thread,
and a resumed run must compute what the run that never stopped computed. ``set_num_threads(n)`` sets the count of
Numba's threads, which under the policy also run the products.
"""

import os

import numba
import threadpoolctl

BLAS_THREADS = 1
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "BLIS_NUM_THREADS")


def configure() -> bool:
    """Apply the policy above; True when it set BLAS to one thread. Called once, below, when the module is imported
    (Python imports a module once, one import at a time)."""
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        return False
    threadpoolctl.threadpool_limits(BLAS_THREADS, user_api="blas")
    return True


def set_num_threads(n: int) -> None:
    """Run Numba's kernels launched from the calling thread, and the matrix products, on ``n`` threads (1 to Numba's
    pool size, NUMBA_NUM_THREADS). Under the policy the products run on Numba's threads (``cpu_matmul.py``) and BLAS
    stays on one; when the user chose BLAS's count, BLAS gets ``n`` too. Numba keeps the count per Python thread;
    BLAS has one count for the process."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    most = numba.config.NUMBA_NUM_THREADS
    if not 1 <= n <= most:
        raise ValueError(f"set_num_threads: n must be between 1 and {most} (Numba's pool, NUMBA_NUM_THREADS), got {n}")
    numba.set_num_threads(n)
    if not BLAS_ON_ONE_THREAD:
        threadpoolctl.threadpool_limits(n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads Numba's kernels launched from the calling thread run on."""
    return numba.get_num_threads()


BLAS_ON_ONE_THREAD = configure()
