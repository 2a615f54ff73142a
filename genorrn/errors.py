"""User-facing errors.

Anything a user can cause (a missing file, a malformed record, a region outside a sequence)
raises :class:`GenorrnError` with a one-line message that names the file, the record and the
problem. The CLI prints that line and exits non-zero without a traceback.
"""

from __future__ import annotations


class GenorrnError(Exception):
    """An error caused by user input; its message is one line, shown as is by the CLI."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))


def exception_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of ``exc``'s message (for one-line errors built from library
    exceptions); ``default``, else the exception's type name, when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (default or type(exc).__name__)


class InputError(GenorrnError):
    """A problem with an input file (missing, empty, malformed, inconsistent)."""

    exit_code = 2


class OutputError(GenorrnError):
    """An output cannot be written (missing or read-only folder)."""

    exit_code = 3
