"""Where Numba keeps the compiled kernels, and a notice while it compiles them. Import before any ``@njit``.

Numba's default cache lives in ``__pycache__`` beside the source, else in ``~/.cache/numba``; an installed,
read-only package run by a user without a writable home has neither, and ``cache=True`` then fails at import
("no locator available"). So unless ``NUMBA_CACHE_DIR`` is set, the cache goes to the first writable folder of
``$XDG_CACHE_HOME/tinygrad_norm/numba``, ``~/.cache/tinygrad_norm/numba`` and ``<tempdir>/tinygrad_norm-<user>/numba``.
A kernel's cache folder is fixed when it is decorated, hence the import order.

Compiling every kernel takes seconds; the first compilation in a process prints one line to stderr, so a cold
start does not look hung. Loading from the cache prints nothing.
"""

import getpass
import os
import sys
import tempfile

import numba
from numba.core import event

_PACKAGE = __name__.rpartition(".")[0]


def _writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def _user_name():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry
        return str(os.getuid())


def _user_cache_dir():
    candidates = []
    if os.environ.get("XDG_CACHE_HOME"):
        candidates.append(os.path.join(os.environ["XDG_CACHE_HOME"], "tinygrad_norm", "numba"))
    candidates.append(os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_norm", "numba"))
    candidates.append(os.path.join(tempfile.gettempdir(), f"tinygrad_norm-{_user_name()}", "numba"))
    return next((folder for folder in candidates if _writable(folder)), None)


class _CompileNotice(event.Listener):
    """Prints one line the first time a kernel of this package is compiled (not loaded from cache)."""

    def __init__(self):
        self.announced = False

    def on_start(self, ev):
        module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
        if not self.announced and module.startswith(_PACKAGE):
            self.announced = True
            print(f"{_PACKAGE}: compiling Numba kernels (once; later runs load them from {numba.config.CACHE_DIR})",
                  file=sys.stderr, flush=True)

    def on_end(self, ev):
        pass


def share_with_numba_cuda():
    """numba-cuda reads its own copy of the configuration: point its cache at the same folder."""
    try:
        from numba.cuda.core import config as cuda_config
    except ImportError:  # a numba-cuda that reads numba's configuration
        return
    cuda_config.CACHE_DIR = numba.config.CACHE_DIR


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _user_cache_dir() or ""
event.register("numba:compile", _CompileNotice())
