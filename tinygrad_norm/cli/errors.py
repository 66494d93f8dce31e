"""How the commands fail: one line on stderr and exit status 2 for anything the user can fix, never a traceback."""

from __future__ import annotations

import contextlib


class UsageError(Exception):
    """A bad argument, file or setting; the message is the one line the user sees."""


@contextlib.contextmanager
def fail_on(*errors: type[BaseException]):
    """Turn the given exceptions raised inside into a UsageError with their message on one line."""
    try:
        yield
    except errors as error:
        message = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(message) from error
