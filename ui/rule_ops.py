"""The rule editor's view of the engine: what waits for dispatch and why, the "run now"
buttons with the last job runs, and the result of a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.circulation.dispatch import waiting_reasons
from crm_core.circulation.dispatch_plan import NO_ROOM, NO_RULE, DispatchResult
from crm_core.circulation.jobs import last_runs, run_job
from crm_core.circulation.recycle import RecycleResult
from crm_core.circulation.renewals import RenewalResult
from crm_core.models import JOB_NAMES
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, is_message, label_of
from crm_core.platform.permissions import Permission
from ui.circulation import label, number, person, when
from ui.db import engine, session
from ui.i18n import nt, show_error, t, tmd

_JOB_RESULT = "rules_job_result"
TOP_REPS = 10


@dataclass(frozen=True)
class RuleContext:
    """What the editor's pickers offer, read once per page run."""

    me: Actor
    lines: dict[int, str]  # business lines
    units: dict[int, str]  # active units in scope, for pickers
    unit_labels: dict[int, str]  # every unit in scope, for showing stored rules
    channels: dict[str, str]  # channel code -> label
    reps: dict[int, str]  # people the actor may name as targets
    names: dict[int, str]  # every colleague's name, for showing who did what
    company_wide: bool  # whether the actor may keep rules with no unit


def _reason(reason: str | None, rule_names: dict[int, str]) -> str:
    if reason is None:
        return t("Not looked at yet")
    if reason == NO_RULE:
        return t("No dispatch rule matches")
    if reason.startswith(f"{NO_ROOM}:"):
        raw = reason.split(":", 1)[1]
        rule_id = int(raw) if raw.isdigit() else None
        return t("Rule “{rule}” found no rep with room", rule=rule_names.get(rule_id, f"#{raw}"))
    return label("waiting", reason)


def _advice(reason: str | None, rules: dict[int, Any], ctx: RuleContext) -> str:
    """What a manager can do about opportunities waiting for `reason`."""
    if reason is None:
        return t(
            "Dispatch has not run since they arrived: it runs every few minutes, or run it now below."
        )
    if reason == NO_RULE:
        return t(
            "Add a dispatch rule whose business line, channel and region match them, or widen an existing rule."
        )
    if reason.startswith(f"{NO_ROOM}:"):
        raw = reason.split(":", 1)[1]
        rule = rules.get(int(raw)) if raw.isdigit() else None
        target = (rule.action or {}).get("target_unit_id") if rule is not None else None
        if target:
            unit = ctx.unit_labels.get(int(target)) or f"#{target}"
            return t(
                "No rep with room in {unit}: raise the holding cap or add reps who receive dispatch.",
                unit=unit,
            )
        return t(
            "None of the rule's reps has room: raise their holding cap or name more reps in the rule."
        )
    if reason == "departure":
        return t("Their owner left: a departure rule or dispatch hands them on.")
    return t("Dispatch hands them on with the next run that finds a matching rule with room.")


def waiting_summary(
    ctx: RuleContext, rule_names: dict[int, str], rules: list | None = None
) -> None:
    """How many opportunities wait for dispatch, by reason, and what to do about each."""
    st.subheader(t("Waiting for dispatch"))
    try:
        with session() as s:
            reasons = waiting_reasons(s, ctx.me)
    except CrmError as error:
        show_error(error)
        return
    total = sum(reasons.values())
    if not total:
        st.info(t("Nothing is waiting for dispatch."))
        return
    st.caption(
        nt(
            "{count} opportunity waits for dispatch.",
            "{count} opportunities wait for dispatch.",
            total,
            count=number(total),
        )
    )
    by_id = {rule.id: rule for rule in rules or []}
    rows = sorted(reasons.items(), key=lambda item: -item[1])
    frame = pd.DataFrame(
        [
            {
                t("Why"): _reason(r, rule_names),
                t(NC_("rules.waiting", "Opportunities")): number(n),
                t("What to do"): _advice(r, by_id, ctx),
            }
            for r, n in rows
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="rules_waiting",
        column_config={t("What to do"): st.column_config.TextColumn(width="large")},
    )


def _counts(counts: dict) -> str:
    return ", ".join(f"{label('rules.count', k)} {number(int(v))}" for k, v in counts.items())


def _job_error(error: str | None) -> str:
    """Why a job run failed, for people: a refusal of the core in their language; anything
    else (the stored error may be an exception with its SQL) only as "unexpected"."""
    if not error:
        return ""
    if is_message(error):
        return t(error)
    return t("It failed unexpectedly; the details are kept with the run for the administrators.")


def _show_job_result() -> None:
    item = st.session_state.pop(_JOB_RESULT, None)
    if not item:
        return
    job, status, counts, error = item
    name = t(label_of("job", job))
    if status == "done":
        st.success(t("{job} done: {counts}.", job=name, counts=_counts(counts) or "-"))
    elif status == "busy":
        st.warning(
            t("{job} is already running: nothing was done. Try again in a moment.", job=name)
        )
    elif counts:
        # A job in chunks keeps the whole chunks it saved before the one that failed.
        st.error(
            tmd(
                "{job} failed; the whole chunks it had saved before are kept ({counts}): {error}",
                job=name,
                counts=_counts(counts),
                error=_job_error(error),
            )
        )
    else:
        st.error(
            tmd("{job} failed and changed nothing: {error}", job=name, error=_job_error(error))
        )


def jobs_panel(ctx: RuleContext, names: dict[int, str]) -> None:
    """Run any job now - dispatch, recycling, warnings, renewals - (with `run_jobs`), and
    the last runs."""
    if not ctx.me.can(Permission.RUN_JOBS):
        return
    st.subheader(t("Run the engine now"))
    _show_job_result()
    columns = st.columns(len(JOB_NAMES))
    for column, job in zip(columns, JOB_NAMES, strict=True):
        if column.button(t(label_of("rules.jobs.run", job)), key=f"rules_run_{job}"):
            try:
                # The job opens its own transaction on the app's engine: never inside session().
                run = run_job(job, actor=ctx.me, trigger="manual", engine=engine())
            except CrmError as error:
                show_error(error)
            else:
                st.session_state[_JOB_RESULT] = (job, run.status, run.counts or {}, run.error)
                st.rerun()
    with session() as s:
        runs = last_runs(s, ctx.me)
    if not runs:
        st.caption(t("No job has run yet."))
        return
    frame = pd.DataFrame(
        [
            {
                t("Job"): t(label_of("job", r.job)),
                t("Started by"): label("rules.jobs.trigger", r.trigger),
                t("Who"): person(names, r.actor_id),
                t("Result"): t(label_of("job.status", r.status)),
                t("Counts"): _counts(r.counts or {}),
                t("Started"): when(r.started_at),
                t("Finished"): when(r.finished_at),
                t("Error"): _job_error(r.error),
            }
            for r in runs
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="rules_job_runs")


def _rule_name(name: str, rule_id: int | None, editing_id: int | None) -> str:
    """The rule's name, marked when it is the draft (a new rule, or the one being edited)."""
    if rule_id is None or rule_id == editing_id:
        return f"{name} {t('(this draft)')}"
    return name


def _per_team(kind: str, result: RecycleResult) -> None:
    """Per team, what the rules would take back now against the threshold above which its
    managers are told a day ahead (`recycle.warn_over`)."""
    if not result.per_team:
        return
    limit = result.warn_over
    st.markdown(f"**{t('Per team')}**")
    if limit:
        st.caption(
            t(
                "A team's managers are told a day ahead when more than {limit} of its opportunities are due at once.",
                limit=number(limit),
            )
        )
    rows = [
        {
            t("Team"): result.team_names.get(unit, t("(no unit)")) if unit else t("(no unit)"),
            label("rules.count", "recycled"): number(n),
            t("Over the threshold"): t("Yes") if limit and n > limit else "",
        }
        for unit, n in sorted(result.per_team.items(), key=lambda item: -item[1])
    ]
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", key=f"rules_{kind}_dry_teams"
    )


def show_preview(kind: str, result, editing_id: int | None, names: dict[int, str]) -> None:
    """What the rules would do now with the draft in place; nothing was saved."""
    st.markdown(f"**{t('Dry run: what would happen now')}**")
    st.caption(t("Nothing was saved or moved."))
    if isinstance(result, DispatchResult):
        metrics = [
            ("considered", result.considered),
            ("assigned", result.assigned),
            ("no_rule", result.no_rule),
            ("no_room", result.no_room),
        ]
        for column, (name, value) in zip(st.columns(len(metrics)), metrics, strict=True):
            column.metric(label("rules.count", name), number(value))
        rows = [
            {
                t("Rule"): _rule_name(o.name, o.rule_id, editing_id),
                label("rules.count", "matched"): number(o.matched),
                label("rules.count", "assigned"): number(o.assigned),
                label("rules.count", "no_room"): number(o.no_room),
            }
            for o in result.rules
        ]
        if rows:
            st.dataframe(
                pd.DataFrame(rows), hide_index=True, width="stretch", key=f"rules_{kind}_dry_rules"
            )
        top = sorted(result.per_rep.items(), key=lambda item: (-item[1], item[0]))[:TOP_REPS]
        if top:
            st.markdown(
                f"**{nt('Top {count} rep', 'Top {count} reps', len(top), count=len(top))}**"
            )
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            t(NC_("rules.dry", "Rep")): person(names, rep),
                            t("Would receive"): number(n),
                        }
                        for rep, n in top
                    ]
                ),
                hide_index=True,
                width="stretch",
                key=f"rules_{kind}_dry_reps",
            )
    elif isinstance(result, RecycleResult):
        metrics = [("recycled", result.recycled), ("dormant", result.dormant)]
        for column, (name, value) in zip(st.columns(len(metrics)), metrics, strict=True):
            column.metric(label("rules.count", name), number(value))
        rows = [
            {
                t("Rule"): _rule_name(o.name, o.rule_id, editing_id),
                label("rules.count", "recycled"): number(o.recycled),
                label("rules.count", "dormant"): number(o.dormant),
            }
            for o in result.rules
        ]
        if rows:
            st.dataframe(
                pd.DataFrame(rows), hide_index=True, width="stretch", key=f"rules_{kind}_dry_rules"
            )
        _per_team(kind, result)
    elif isinstance(result, RenewalResult):
        shown = ("opened", "to_owner", "to_dispatch")
        metrics = [(name, getattr(result, name)) for name in shown]
        for column, (name, value) in zip(st.columns(len(metrics)), metrics, strict=True):
            column.metric(label("rules.count", name), number(value))
        rows = [
            {
                t("Rule"): _rule_name(o.name, o.rule_id, editing_id),
                **{label("rules.count", name): number(getattr(o, name)) for name in shown},
            }
            for o in result.rules
        ]
        if rows:
            st.dataframe(
                pd.DataFrame(rows), hide_index=True, width="stretch", key=f"rules_{kind}_dry_rules"
            )
