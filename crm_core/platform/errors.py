"""Errors the core raises. Each carries its message (the catalogue's msgid) and its parameters, so a page
can show it in the user's language and a test can check exactly which rule refused."""

from __future__ import annotations

from typing import Any

from crm_core.platform.i18n import N_


class CrmError(Exception):
    """Base error: `key` is its message in English, the msgid of the catalogues. A message
    about a count is given as `NP_(singular, plural)`: `key` is then the singular (the
    msgid) and `plural` the other form, chosen by the `count` parameter where it is shown."""

    key = N_("Something went wrong.")
    plural: str | None = None

    def __init__(self, key: str | tuple[str, str] | None = None, **params: Any) -> None:
        if isinstance(key, tuple):
            key, self.plural = key
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class PermissionDenied(CrmError):
    key = N_("You do not have permission to do this.")


class NotFound(CrmError):
    """Raised also for rows outside the actor's scope, so scope never leaks existence."""

    key = N_("Not found, or outside your data scope.")


class ValidationError(CrmError):
    key = N_("The input is not valid.")


class AuthenticationError(CrmError):
    key = N_("Wrong username or password.")
