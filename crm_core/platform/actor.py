"""The acting user as the core sees them on one request: who, which permissions, which
rows. Built by `crm_core.org.access.load_actor`; taken by every service."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.platform.errors import PermissionDenied
from crm_core.platform.permissions import ADMIN_PERMISSIONS, ALL_PERMISSIONS, DataScope


@dataclass(frozen=True)
class Actor:
    """The acting user as the core sees them on one request."""

    user_id: int | None
    username: str
    full_name: str
    org_unit_id: int | None
    org_path: str | None
    permissions: frozenset[str]
    scope: DataScope
    # Units reached besides the user's own rows: exact units (team, custom) and subtrees.
    exact_unit_ids: frozenset[int] = field(default_factory=frozenset)
    subtree_paths: frozenset[str] = field(default_factory=frozenset)
    role_codes: tuple[str, ...] = ()
    language: str = "zh"
    # Whether the user collaborated on any opportunity when the actor was loaded: the scope
    # reads the collaborator table only then (the part itself is read live, so a removal
    # counts at once; an addition, from the user's next request).
    collaborates: bool = False

    @classmethod
    def system(cls) -> Actor:
        """The actor of the scheduler, the seed and the command line: everything, everywhere."""
        return cls(
            user_id=None,
            username="system",
            full_name="System",
            org_unit_id=None,
            org_path=None,
            permissions=ALL_PERMISSIONS,
            scope=DataScope.ALL,
        )

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    @property
    def is_administrator(self) -> bool:
        """Whether the actor holds every administrator permission over everything (the admin
        role, or the system): only they change what built-in roles mean for everyone."""
        return self.scope is DataScope.ALL and ADMIN_PERMISSIONS <= self.permissions

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise PermissionDenied unless the actor holds `permission`."""
        if permission not in self.permissions:
            raise PermissionDenied(permission=str(permission))
