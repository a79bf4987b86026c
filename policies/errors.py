"""The one error the policy package raises: a policy that cannot be loaded or is invalid.

    PolicyError (ValueError)
      .source    the file or preset the text came from
      .problems  tuple of (field path, what was expected) pairs, in file order
"""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy file that cannot be read or does not validate; the message names each field."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"{source}: {path}: {expected}" for path, expected in self.problems]
        if len(lines) == 1:
            message = f"invalid policy {lines[0]}"
        else:
            message = "invalid policy:\n  " + "\n  ".join(lines)
        super().__init__(message)
