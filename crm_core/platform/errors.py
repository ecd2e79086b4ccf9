"""Errors the core raises. Each carries a translation key and its parameters, so a page
can show it in the user's language and a test can check exactly which rule refused."""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    """Base error: `key` names a message in the translation catalogue."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class PermissionDenied(CrmError):
    key = "error.permission_denied"


class NotFound(CrmError):
    """Raised also for rows outside the actor's scope, so scope never leaks existence."""

    key = "error.not_found"


class ValidationError(CrmError):
    key = "error.validation"


class AuthenticationError(CrmError):
    key = "auth.error.bad_credentials"
