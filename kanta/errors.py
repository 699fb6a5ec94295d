"""Errors the user can read."""

from __future__ import annotations


class RuleViolation(Exception):
    """A domain rule said no. The message is translatable and shown to the user as it is.

    Views turn it into a form error or a 400 page, never a 500.
    """

    def __init__(self, message, *, code: str = "rule", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return str(self.message)
