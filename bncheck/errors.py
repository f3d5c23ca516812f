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

    def __reduce__(self) -> tuple[object, ...]:
        # pickled whole (a worker process sends it back): by default unpickling would call __init__
        # with the message alone, and the pool that received it would break
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[InputError], args: tuple[object, ...], state: dict[str, object]) -> InputError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


NOT_AN_ARTEFACT = "not a TensorFlow artefact by content"


def not_an_artefact_reason(detail: str) -> str:
    """The one wording of "this file is not TensorFlow's" (folder searches group their notes by it)."""
    return f"{NOT_AN_ARTEFACT} ({detail})"


class NotAnArtefact(InputError):
    """A readable file that is not a TensorFlow or Keras artefact by its content (an HDF5 file that
    holds no Keras model or weights, a zip without a Keras config): an error when the user names
    it, skipped with a note when a folder search found it."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(source, not_an_artefact_reason(detail))
