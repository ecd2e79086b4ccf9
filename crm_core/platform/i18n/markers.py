"""Markers for messages written where they are not yet translated (a table of labels, a
core error): `pybabel extract` finds them, and they return the message unchanged."""

from __future__ import annotations

# gettext's separator between a message's context and its text
CONTEXT_SEPARATOR = "\x04"


def N_(message: str) -> str:
    """Mark `message` for the catalogue; it is translated where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark `message` with a context: the same English with another meaning (a person's
    "Name" beside a product's) gets its own translation."""
    return f"{context}{CONTEXT_SEPARATOR}{message}"


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message whose form follows a count (`{n}` in it): the pair is translated with
    `ntranslate` where it is shown, with the count."""
    return (singular, plural)
