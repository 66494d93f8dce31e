"""Where Numba keeps this package's compiled kernels, whether it can, and what it says while it compiles them.

Folder. ``NUMBA_CACHE_DIR`` when set; else the first usable of ``$XDG_CACHE_HOME/tinygrad_norm/numba``,
``~/.cache/tinygrad_norm/numba`` and ``<tempdir>/tinygrad_norm-<user>/numba``. A folder is usable when a file can be
made in it, the test Numba makes. In the shared temporary directory, ``tinygrad_norm-<user>`` is used only if it is
this user's and no one else may write to it: Numba unpickles the index files it finds there, so a folder made by
another user could run their code. Otherwise the kernels go to a fresh private folder (``tempfile.mkdtemp``).

Never fatal. When no folder is usable (a read-only ``NUMBA_CACHE_DIR``, say), the kernels compile in memory in every
process and one line on stderr says why and how to fix it; importing the package never fails because of the cache.
``ENABLED`` holds the answer: the CPU kernels get their cache from ``attach`` (called by ``_jit.njit``), the CUDA
kernels are decorated with ``cache=ENABLED``. A CPU cache entry that cannot be read back (a truncated or overwritten
file) is dropped and its kernel compiled again, with one line on stderr; one that cannot be written leaves the
kernel compiled in memory.

Stamp. Numba reuses a cached kernel while the source file that defines it is unchanged. The CPU kernels compile in
the scalar functions of ``_scalar.py`` as well, so their entries are stamped with that file's content too; the CUDA
kernels (numba-cuda keeps its own cache machinery) get a cache folder named after that content.

Notice. A kernel compiles on its first call with each float dtype (float32, float64), and once more for read-only
inputs (Numba types them apart), a few seconds each. The first compilation for each in a process prints one line
to stderr, so a cold start does not look hung; loading from the cache prints nothing.
"""

import contextlib
import getpass
import hashlib
import os
import stat
import sys
import tempfile

import numba
from numba.core import event, types
from numba.core.caching import CompileResultCacheImpl, FunctionCache, UserProvidedCacheLocator

_PACKAGE = __name__.rpartition(".")[0]
_SHARED_SOURCE = os.path.join(os.path.dirname(__file__), "_scalar.py")
FIX = "set NUMBA_CACHE_DIR to a folder of your own to keep them between runs"


def _say(message):
    print(f"{_PACKAGE}: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# the folder


def _usable(folder):
    """Makes ``folder`` if needed and a file in it, as Numba's cache does; returns the error, or None."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        return error
    return None


def _user_name():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry
        return str(os.getuid())


def _not_private(folder):
    """Why ``folder`` must not be trusted (missing, another owner, writable by group or others), or None."""
    try:
        info = os.lstat(folder)
    except OSError as error:
        return str(error)
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"owned by uid {info.st_uid}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def _temporary_folder():
    """``<tempdir>/tinygrad_norm-<user>/numba`` when private to this user, else a fresh private folder; raises
    OSError when neither can be made."""
    own = os.path.join(tempfile.gettempdir(), f"tinygrad_norm-{_user_name()}")
    folder = os.path.join(own, "numba")
    for path in (own, folder):
        with contextlib.suppress(OSError):  # it exists (judged below), or the temporary directory takes nothing
            os.mkdir(path, 0o700)
    distrust = _not_private(own) or _not_private(folder)
    if distrust is None:
        return folder
    fresh = tempfile.mkdtemp(prefix=f"tinygrad_norm-{_user_name()}-")
    _say(f"not using {own} ({distrust}); this run keeps its kernels in {fresh}, so the next run compiles them "
         f"again: {FIX}")
    return fresh


def _choose_folder():
    """The cache folder, or None once one line on stderr has said why there is none."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        folder = os.environ["NUMBA_CACHE_DIR"]
        where, fix = f"NUMBA_CACHE_DIR={folder}", "set NUMBA_CACHE_DIR to a writable folder, or unset it"
    else:
        homes = [os.environ.get("XDG_CACHE_HOME"), os.path.join(os.path.expanduser("~"), ".cache")]
        for home in filter(None, homes):
            if _usable(os.path.join(home, "tinygrad_norm", "numba")) is None:
                return os.path.join(home, "tinygrad_norm", "numba")
        try:
            folder = _temporary_folder()
        except OSError as failure:  # the temporary directory takes no new folder
            folder, error = None, failure
        where, fix = folder or tempfile.gettempdir(), FIX
    if folder is not None:
        error = _usable(folder)
        if error is None:
            return folder
    _say(f"cannot keep compiled kernels in {where} ({error}), so every run compiles them in memory: {fix}")
    return None


# ---------------------------------------------------------------------------------------------------------------
# the CPU kernels' cache: stamped with _scalar.py, recovering from unreadable entries


def _shared_stamp():
    with open(_SHARED_SOURCE, "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()


class _Locator(UserProvidedCacheLocator):
    """Numba's locator for ``numba.config.CACHE_DIR``, its stamp covering ``_scalar.py`` as well as its own file."""

    def get_source_stamp(self):
        return super().get_source_stamp(), SHARED_STAMP


class _CacheImpl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class _KernelCache(FunctionCache):
    """Numba's cache of a CPU function, where an entry that cannot be read or written costs a compilation, not a
    failure: an unreadable index or data file (any error unpickling or rebuilding it) is dropped and the function
    recompiled and saved again; a failed save leaves the function compiled in memory."""

    _impl_class = _CacheImpl

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as error:  # whatever a damaged pickle raises, recompiling is the cure
            _say(f"dropped the unreadable cache entry of {self._py_func.__name__} in {self.cache_path} "
                 f"({type(error).__name__}: {error}); compiling it again")
            try:
                self.flush()  # an empty index: the entries of this function are gone, and the save below writes anew
            except OSError:
                self.disable()
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError as error:
            _say(f"cannot save {self._py_func.__name__} in {self.cache_path} ({error}); it stays compiled in memory")
            self.disable()


def attach(dispatcher):
    """Gives a Numba CPU dispatcher the package's cache, when a folder is usable; returns the dispatcher."""
    if ENABLED:
        try:
            dispatcher._cache = _KernelCache(dispatcher.py_func)  # Dispatcher.enable_caching, with our class
        except RuntimeError as error:  # "no locator available": the folder went away since it was chosen
            _say(f"{dispatcher.py_func.__name__} compiles in memory: {error}")
    return dispatcher


def share_with_numba_cuda():
    """numba-cuda reads its own copy of the configuration: point its cache at a folder named after _scalar.py."""
    try:
        from numba.cuda.core import config as cuda_config
    except ImportError:  # a numba.cuda that reads numba's configuration
        return
    if ENABLED:
        cuda_config.CACHE_DIR = os.path.join(numba.config.CACHE_DIR, f"cuda-{SHARED_STAMP[:16]}")


# ---------------------------------------------------------------------------------------------------------------
# the notice


def _inputs_kind(arg_types):
    """What a compilation is for, from its argument types: "float32 arrays", "read-only float64 arrays", ...; ""
    when no argument is a float array (the dropout mask, a small kernel compiled once for all: not announced)."""
    floats = [a for a in arg_types if isinstance(a, types.Array) and a.dtype in types.real_domain]
    if not floats:
        return ""
    return f"{'' if all(a.mutable for a in floats) else 'read-only '}{floats[0].dtype} arrays"


class _CompileNotice(event.Listener):
    """Prints one line at the first compilation (not a load from the cache) of this package's kernels for a kind of
    input. Only a compilation started from Python counts: the helpers a kernel compiles in are part of it."""

    def __init__(self):
        self.announced = set()
        self.depth = 0  # compilations are serialised by Numba's compiler lock

    def on_start(self, ev):
        self.depth += 1
        module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
        kind = _inputs_kind(ev.data["args"])
        if self.depth == 1 and module.startswith(_PACKAGE) and kind and kind not in self.announced:
            self.announced.add(kind)
            where = f"saved in {numba.config.CACHE_DIR} for later runs" if ENABLED else "not saved: see above"
            _say(f"compiling Numba kernels for {kind} (a kernel compiles on its first call with each float dtype, "
                 f"and once more for read-only inputs; {where})")

    def on_end(self, ev):
        self.depth -= 1


SHARED_STAMP = _shared_stamp()
FOLDER = _choose_folder()
ENABLED = FOLDER is not None
if ENABLED:
    numba.config.CACHE_DIR = FOLDER
event.register("numba:compile", _CompileNotice())
