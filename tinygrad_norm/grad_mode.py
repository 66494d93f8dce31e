"""Grad mode: whether ops are recorded on the tape, per thread, as in torch.

`no_grad` in one thread leaves every other thread recording, and a new thread starts with grad enabled.
`no_grad`, `enable_grad` and `set_grad_enabled` work as `with` blocks and as decorators.
"""

from __future__ import annotations

import contextlib
import functools
import threading


class _ThreadGradMode(threading.local):
    enabled = True  # a class attribute: every thread, also one started later, begins with grad enabled


thread_grad_mode = _ThreadGradMode()  # Function.apply reads .enabled


def is_grad_enabled() -> bool:
    """Whether ops in the current thread are recorded."""
    return thread_grad_mode.enabled


class _GradMode(contextlib.AbstractContextManager):
    """Sets the current thread's grad mode inside a `with` block or a decorated function, and restores it."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous: list[bool] = []  # a stack: the same object may be entered again before it exits

    def __enter__(self):
        self.previous.append(thread_grad_mode.enabled)
        thread_grad_mode.enabled = self.enabled

    def __exit__(self, *exc):
        thread_grad_mode.enabled = self.previous.pop()

    def __call__(self, func):
        """Decorate `func`; each call enters a fresh object, so calls in several threads never share a stack."""

        @functools.wraps(func)
        def with_grad_mode(*args, **kwargs):
            with _GradMode(self.enabled):
                return func(*args, **kwargs)

        return with_grad_mode


def _grad_mode_for(enabled: bool, func):
    """A `_GradMode`, or `func` decorated with one when used bare as `@no_grad` (as torch allows)."""
    mode = _GradMode(enabled)
    return mode if func is None else mode(func)


def no_grad(func=None):
    """Ops inside record nothing on the tape (as `torch.no_grad`), in the current thread."""
    return _grad_mode_for(False, func)


def enable_grad(func=None):
    """Ops inside are recorded again, even within `no_grad` (as `torch.enable_grad`)."""
    return _grad_mode_for(True, func)


class set_grad_enabled(_GradMode):  # noqa: N801  (torch's name; a class, usable as a function)
    """`set_grad_enabled(False)` turns recording off for the current thread at once; used in a `with` block
    or as a decorator it restores the previous mode afterwards (as torch)."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        super().__init__(mode)
        self.previous.append(thread_grad_mode.enabled)
        thread_grad_mode.enabled = mode

    def __enter__(self):  # the mode was set by the constructor
        pass

    def __call__(self, func):
        thread_grad_mode.enabled = self.previous.pop()  # as a decorator it sets the mode only inside calls
        return super().__call__(func)
