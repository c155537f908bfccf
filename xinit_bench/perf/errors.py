"""The regression gate's error vocabulary: its exit codes and the one exception that carries them.

Every module of the gate (:mod:`.figures`, :mod:`.baseline`, :mod:`.refenv`,
:mod:`.ab`, :mod:`.gate_ab`, :mod:`.gate_baseline`) reports a failure the
user or the machine must fix as a :class:`GateError`; ``xinit-bench gate``
prints its message as one line and exits with its code.

Examples
--------
>>> error = GateError(ExitCode.BAD_INPUT, "--threshold must be a finite ratio above 1, got 0.9")
>>> int(error.code), error.message
(2, '--threshold must be a finite ratio above 1, got 0.9')
"""

from __future__ import annotations

import enum

__all__ = ["ExitCode", "GateError"]


class ExitCode(enum.IntEnum):
    """The gate's exit codes: CI logs and scripts tell a regression from a broken run.

    ``BAD_INPUT`` covers every input the user can fix (an option, a baseline or
    benchmark JSON that is missing, corrupt or holds impossible figures, an
    unknown benchmark name, an output path that cannot be written);
    ``ENVIRONMENT`` what the machine must fix (git missing, a reference commit
    that cannot be built or run).
    """

    OK = 0
    REGRESSION = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3


class GateError(Exception):
    """A bad input or a broken environment: carries the exit code and the one-line message for the user."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
