"""The ADError hierarchy: every error a user can see, pointing at the user's file."""

from __future__ import annotations

import linecache
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in the user's source: absolute line, 0-based column."""

    filename: str
    lineno: int
    col: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}:{self.col + 1}"

    @property
    def source_line(self) -> str:
        return linecache.getline(self.filename, self.lineno).rstrip("\n")


class ADError(Exception):
    """Base class of every error ast-ad raises about the user's code or call.

    Printed as ``file:line:col: what — hint`` followed by the source line and
    a caret under the offending column.
    """

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        self.generated = None  # the place in generated code, for an error found there
        if location is not None:
            self._in_users_code()
        super().__init__(self._format())

    def _in_users_code(self) -> None:
        """An error found in code ast-ad generated (differentiating a derivative again) is
        reported at the line of the user's code that code came from."""
        from .cache import user_place

        place = user_place(self.location.filename, self.location.lineno)
        if place is None:
            return
        self.generated = self.location
        line = linecache.getline(place[0], place[1])
        self.location = Location(place[0], place[1], len(line) - len(line.lstrip()))
        self.message += f" (in the derivative ast-ad generated from this line: {self.generated})"
        self.hint = ("this is in ast-ad's code for your line, not in yours: write the line "
                     "another way (a new array rather than a write into one, e.g. "
                     "`y = y * v`), or, for reverse mode over a derivative (jacrev, vjp, "
                     "grad of grad), try forward mode over it (ast_ad.hessian, ast_ad.hvp)")

    def _format(self) -> str:
        text = self.message
        if self.hint:
            text += f" — {self.hint}"
        if self.location is None:
            return text
        text = f"{self.location}: {text}"
        line = self.location.source_line
        if line.strip():
            caret = " " * self.location.col + "^"
            text += f"\n    {line}\n    {caret}"
        return text


class UnsupportedSyntaxError(ADError):
    """The function uses a construct ast-ad does not differentiate."""


class NoRuleError(ADError):
    """A call to a function with no adjoint rule and no Python source to transform."""


class NonDifferentiableError(ADError):
    """Differentiating with respect to a value that has no derivative (int, bool, complex...)."""


class NonScalarOutputError(ADError):
    """`grad` was asked for the gradient of a function whose output is not a scalar."""


class SourceUnavailableError(ADError):
    """The function's source text cannot be retrieved (a builtin, or code typed at a REPL)."""


class RuleDefinitionError(ADError):
    """A custom rule is malformed (wrong arity, unknown placeholders...)."""


class CheckpointError(ADError):
    """A loop or helper asked to be checkpointed cannot be recomputed soundly."""


class VectorModeError(ADError):
    """Vector mode cannot batch a tangent rule; the Jacobian is taken one direction at a time."""
