"""Errors bncheck raises for input it cannot use."""
from __future__ import annotations


class InputError(Exception):
    """A file or object bncheck cannot read: missing, truncated, corrupt or unsupported.

    The message is one line and names the input; the CLI prints it and exits with status 2.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
