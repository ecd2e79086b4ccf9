"""What a lead file says beyond the lead, handed to the intake so the opportunities it opens
for the file are written as they end up (`crm_core.leads.intake.opening`): the stage, a
close (won or lost), the owner, the lost reason and intention level.

- an open stage past `new` becomes the stage, with one stage-history row at the created
  date (the funnel counts the stages before it as passed, as for any skipped stage);
- a won or lost row closes the opportunity (`closed`: never dispatched, never in a pool) at
  its close date (the row's close-date column, else its created date), with one history
  row `new -> won` or `new -> lost`. Its furthest stage stays `new`: the file proves the
  lead and the outcome, not trial lessons or any stage between (the funnel counts a won
  opportunity as won whatever its furthest stage);
- a row with an owner is the owner's (`owned`, their unit, assigned now); a closed row
  keeps its owner for the team's figures. A row without one goes to dispatch like any
  imported opportunity.
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_core.imports.leads.rows import FileRows, RowOutcome
from crm_core.leads.intake import Opening


def opening_of(said: RowOutcome | None) -> Opening | None:
    """The intake's opening for a row that says more than the lead (None: it says nothing)."""
    if said is None:
        return None
    owner = said.owner
    return Opening(
        stage=said.stage or "new",
        owner_id=owner.user_id if owner is not None else None,
        org_unit_id=owner.org_unit_id if owner is not None else None,
        closed_at=said.closed_at,
        lost_reason=said.lost_reason,
        intention_level=said.intention_level,
    )


def openings_for(rows: FileRows, positions: Sequence[int]) -> list[Opening | None] | None:
    """The openings of the rows at `positions`, in their order (None: no row says more)."""
    if not rows.outcomes:
        return None
    return [opening_of(rows.outcomes[i]) for i in positions]
