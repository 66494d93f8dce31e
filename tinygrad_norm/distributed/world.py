"""The processes of a run: who they are (`rank`, `world_size`), how they join (`init`) and how they end (`abort`).

A process started without a launcher is a world of one and needs no MPI: every collective is then the identity.
Under `mpiexec -n N` (or another MPI launcher) the processes form MPI's COMM_WORLD through mpi4py, imported by the
first `init()`; the `mpi` extra (`pip install 'tinygrad-norm[mpi]'`) brings mpi4py and the MPICH wheel, whose
`mpiexec` lands beside the interpreter. Where mpi4py is installed, `init()` always uses it (a process without a
launcher is then MPI's world of one), so that no launcher goes unnoticed.

A process that fails must not leave the others waiting forever in a collective. Two guards:

- in a world of more than one, `init()` installs a `sys.excepthook` that prints the traceback as usual and then
  calls MPI_Abort, which ends every process of the run (mpiexec exits with status 1, 130 for Ctrl-C);
- every collective waits at most `timeout` seconds (`init(timeout=...)`, else the environment variable
  TINYGRAD_NORM_COLLECTIVE_TIMEOUT, else 600), then prints which collective gave up and aborts the run. This ends
  a run whose process left without an exception (`sys.exit`, a crash) or hangs.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn

DEFAULT_TIMEOUT = 600.0
TIMEOUT_ENV = "TINYGRAD_NORM_COLLECTIVE_TIMEOUT"
MPI_EXTRA = "pip install 'tinygrad-norm[mpi]'"
# environment variables by which launchers tell a process how many were started: MPICH's and Intel MPI's hydra,
# Slurm's srun with PMI-2 (PMI_SIZE), Open MPI (OMPI_COMM_WORLD_SIZE)
_LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
_SPIN_SECONDS = 1e-3  # a collective is polled without sleeping this long: most complete within it ...
_MAX_PAUSE = 1e-3  # ... then with sleeps growing to this, so a process waiting on a slow one leaves its core free


@dataclass
class _World:
    comm: Any  # mpi4py's COMM_WORLD, or None in a world of one without MPI
    rank: int
    size: int
    timeout: float


_world: _World | None = None


def init(timeout: float | None = None) -> None:
    """Join the run's processes (see the module docstring); later calls only set `timeout`, in seconds, the
    longest any collective waits before it aborts the run.

    Raises ImportError naming the `mpi` extra when a launcher started several processes and mpi4py or the MPI
    library cannot be loaded.
    """
    global _world
    valid = isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < math.inf
    if timeout is not None and not valid:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if _world is None:
        _world = _join(_default_timeout())
    if timeout is not None:
        _world.timeout = float(timeout)


def is_initialized() -> bool:
    """Whether `init()` has run in this process."""
    return _world is not None


def is_available() -> bool:
    """Whether mpi4py and an MPI library can be loaded (importing mpi4py initializes MPI)."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def rank() -> int:
    """This process's number in the run, 0 .. world_size() - 1 (calls `init()` when needed)."""
    return _current().rank


def world_size() -> int:
    """How many processes the run has (calls `init()` when needed)."""
    return _current().size


def abort(code: int = 1) -> NoReturn:
    """End every process of the run now, with exit status `code` (MPI_Abort); in a world of one, SystemExit(code)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _world is not None and _world.size > 1:
        _world.comm.Abort(code)
    raise SystemExit(code)


def mpi():
    """mpi4py's MPI module (MPI is initialized when it is first imported); ImportError naming the `mpi` extra when
    mpi4py or the MPI library cannot be loaded."""
    _point_mpi4py_at_the_mpich_wheel()
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as error:  # RuntimeError: mpi4py found no MPI library
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImportError(f"MPI cannot be loaded ({cause}); install it with {MPI_EXTRA}") from None
    return MPI


def communicator():
    """mpi4py's COMM_WORLD of a world of more than one (None in a world of one without MPI)."""
    return _current().comm


def find_mpiexec() -> str | None:
    """The path of `mpiexec`: beside this interpreter, else the one the mpich wheel installed, else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(beside, os.X_OK):
        return beside
    wheel = _mpich_wheel_file(lambda path: path.parts[-2:] == ("bin", "mpiexec"))
    if wheel is not None and os.access(wheel, os.X_OK):
        return wheel
    return shutil.which("mpiexec")


def wait(request, what: str) -> None:
    """Wait for an MPI request, at most the run's timeout; past it, print what waited and abort the run."""
    world = _current()
    start = time.monotonic()
    pause = 1e-5
    while not request.Test():
        waited = time.monotonic() - start
        if waited > world.timeout:
            print(
                f"tinygrad_norm.distributed: rank {world.rank}: {what} waited more than {world.timeout:g} s for the "
                "other processes (one of them failed, ended early or hangs); aborting the run",
                file=sys.stderr,
                flush=True,
            )
            abort(1)
        if waited > _SPIN_SECONDS:
            time.sleep(pause)
            pause = min(2 * pause, _MAX_PAUSE)


def _current() -> _World:
    init()
    assert _world is not None
    return _world


def _default_timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        timeout = float(text)
    except ValueError:
        timeout = math.nan
    if not 0 < timeout < math.inf:
        raise ValueError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {text!r}")
    return timeout


def _launched_size() -> int:
    """How many processes a launcher says it started (1 when none says)."""
    for name in _LAUNCHER_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def _join(timeout: float) -> _World:
    try:
        MPI = mpi()
    except ImportError as error:
        launched = _launched_size()
        if launched > 1:
            raise ImportError(f"a launcher started {launched} processes, but {error}") from None
        return _World(None, 0, 1, timeout)
    comm = MPI.COMM_WORLD
    world = _World(comm, comm.Get_rank(), comm.Get_size(), timeout)
    if world.size > 1:
        sys.excepthook = _aborting_hook(sys.excepthook, world.rank)
    return world


def _aborting_hook(previous, rank: int):
    """An excepthook that reports an uncaught exception as `previous` does, then aborts every process."""

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        print(f"tinygrad_norm.distributed: rank {rank} failed; aborting the run", file=sys.stderr, flush=True)
        abort(130 if issubclass(kind, KeyboardInterrupt) else 1)

    return hook


def _mpich_wheel_file(matches) -> str | None:
    """The first file installed by the mpich wheel whose path `matches`, or None without the wheel."""
    try:
        files = importlib.metadata.files("mpich") or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    found = next((file for file in files if matches(file)), None)
    return None if found is None else os.path.normpath(str(found.locate()))


def _point_mpi4py_at_the_mpich_wheel() -> None:
    """mpi4py looks for libmpi under this interpreter's prefix (and the system's). A virtual environment that reuses
    another's site-packages has the mpich wheel's libmpi under the other prefix: name it to mpi4py, unless the
    user chose one (MPI4PY_LIBMPI) or it lies where mpi4py looks anyway."""
    if "MPI4PY_LIBMPI" in os.environ:
        return
    library = _mpich_wheel_file(lambda path: re.fullmatch(r"libmpi\.(so\.\d+|\d+\.dylib)", path.name) is not None)
    if library is not None and os.path.dirname(library) != os.path.join(sys.exec_prefix, "lib"):
        os.environ["MPI4PY_LIBMPI"] = library
