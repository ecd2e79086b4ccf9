"""How a unit is named where it shows: its own name when no other unit bears it, otherwise
with the units above it ("Beijing / Team 1"), as many as it takes to tell it apart. A demo
company has nine teams called "Team 1"; a list that says only "Team 1" says nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlmodel import Session, select

from crm_core.models import OrgUnit, path_ids


def unit_labels(session: Session, unit_ids: Iterable[int | None]) -> dict[int, str]:
    """The label of each unit of `unit_ids` (see the module doc); unknown ids are left out.
    Unit names are the org chart, shown to anyone who sees a row of the unit."""
    wanted = {unit_id for unit_id in unit_ids if unit_id is not None}
    if not wanted:
        return {}
    rows = session.exec(select(OrgUnit.id, OrgUnit.name, OrgUnit.path)).all()
    names = {unit_id: name for unit_id, name, _ in rows}
    chains = {unit_id: path_ids(path) for unit_id, _, path in rows}
    labels: dict[int, str] = {}
    for unit_id in wanted & names.keys():
        chain = chains[unit_id]
        # Lengthen the label upwards until no other unit's label of that length reads the same.
        for depth in range(1, len(chain) + 1):
            label = _tail(chain, depth, names)
            clashes = Counter(
                _tail(other, depth, names)
                for other_id, other in chains.items()
                if names[other_id] == names[unit_id]
            )
            if clashes[label] <= 1:
                break
        labels[unit_id] = label
    return labels


def _tail(chain: list[int], depth: int, names: dict[int, str]) -> str:
    return " / ".join(names[i] for i in chain[-depth:] if i in names)
