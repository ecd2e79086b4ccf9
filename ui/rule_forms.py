"""The rule editor's create/edit form: one widget per field of the rule kind's spec, saved
or dry-run through `crm_core.circulation.rules` / `crm_core.circulation.dry_run`.

Widget keys are `rules_<kind>_<field>_<generation>` with the spec's field names. Loading a
rule (or a fresh one) keeps its values and raises the generation, so the next run draws new
widgets created with those values.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import streamlit as st

from crm_core.circulation.dry_run import CONFIRM_ABOVE, draft_moves, preview_rule
from crm_core.circulation.rule_schemas import (
    DEPARTURE_TARGETS,
    DISPATCH_STRATEGIES,
    RECYCLE_TARGETS,
    RECYCLE_TRIGGERS,
    RENEWAL_MAX_DAYS,
    RENEWAL_TARGETS,
    ClaimSpec,
    DepartureSpec,
    DispatchSpec,
    RecycleSpec,
    RenewalSpec,
    parse_rule,
    spec_documents,
)
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import OPEN_STAGES
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_, error_count, label_of
from ui.circulation import number
from ui.db import session
from ui.feedback import flash
from ui.i18n import ntmd, t, tmd
from ui.inputs import clean_text, text_input
from ui.options import every, option_text, stage_text
from ui.rule_ops import RuleContext, show_preview

KINDS = ("dispatch", "recycle", "claim", "departure", "renewal")
TABS = "rules_tabs"  # the rule page's tabs: st.session_state[TABS] is the open tab's label
SPECS: dict[str, type] = {
    "dispatch": DispatchSpec,
    "recycle": RecycleSpec,
    "claim": ClaimSpec,
    "departure": DepartureSpec,
    "renewal": RenewalSpec,
}
PREVIEW_KINDS = ("dispatch", "recycle", "renewal")
_FRESH = "__fresh__"


def key(kind: str, name: str) -> str:
    return f"rules_{kind}_{name}"


def rule_error(error: CrmError) -> str:
    """A core refusal in the user's language, with the field's label instead of its code,
    for a Markdown element (the values it names show literally)."""
    params: dict[str, Any] = dict(getattr(error, "params", {}))
    field = params.get("field")
    if isinstance(field, str):
        text = t(label_of("rules.field", field))
        params["field"] = field if text == label_of("rules.field", field) else text
    if error.plural is not None:
        return ntmd(error.key, error.plural, error_count(params), **params)
    return tmd(error.key, **params)


def next_priority(rules: list) -> int:
    """A priority after every listed rule, so a new rule does not clash by default."""
    return max((r.priority for r in rules), default=90) + 10


def form_values(kind: str, ctx: RuleContext, rules: list, rule=None) -> dict[str, Any]:
    """The form's values for `rule`, or for a new rule of `kind`."""
    spec = SPECS[kind]()
    if rule is not None:
        try:
            spec = parse_rule(kind, rule.conditions, rule.action)
        except ValidationError:
            pass  # a stored rule that no longer parses is edited from the defaults
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()}
    if rule is None:
        # Company-wide managers start company-wide; others (and departure rules, which
        # always belong to a unit) start with their own unit.
        required = kind == "departure" or not ctx.company_wide
        default_unit = None
        if required:
            own = ctx.me.org_unit_id
            default_unit = own if own in ctx.units else next(iter(ctx.units), None)
        values.update(
            name="",
            priority=next_priority(rules),
            business_line_id=None,
            org_unit_id=default_unit,
            enabled=True,
        )
    else:
        values.update(
            name=rule.name,
            priority=rule.priority,
            business_line_id=rule.business_line_id,
            org_unit_id=rule.org_unit_id,
            enabled=rule.enabled,
        )
    return values


def load(kind: str, values: dict[str, Any] | None = None, editing: int | None = None) -> None:
    """Show `values` (None: a fresh rule) in the form from the next run on."""
    st.session_state[key(kind, "values")] = values if values is not None else _FRESH
    st.session_state[key(kind, "editing")] = editing
    st.session_state[key(kind, "gen")] = st.session_state.get(key(kind, "gen"), 0) + 1


def field_key(kind: str, name: str) -> str:
    """The key of a form widget. It carries the form's generation: loading other values
    starts fresh widgets, created with those values (a widget's value is never pushed in
    through session state - the browser may not show it on first drawing)."""
    return f"rules_{kind}_{name}_{st.session_state.get(key(kind, 'gen'), 0)}"


def _values(kind: str, ctx: RuleContext, rules: list) -> dict[str, Any]:
    st.session_state.setdefault(key(kind, "gen"), 0)
    values = st.session_state.get(key(kind, "values"), _FRESH)
    if values == _FRESH:
        values = st.session_state[key(kind, "values")] = form_values(kind, ctx, rules)
    return values


def _select(kind: str, name: str, options: list, format_func, values: dict, **kwargs) -> None:
    current = values.get(name)
    index = options.index(current) if current in options else 0
    st.selectbox(
        t(label_of("rules.field", name)),
        options,
        index=index,
        format_func=format_func,
        key=field_key(kind, name),
        **kwargs,
    )


def _value(kind: str, name: str) -> Any:
    """A form value as the core wants it: lists as tuples, texts (also those typed as new
    options, a region say) without NUL characters - the form reads its widgets' state, not
    what `text_input` returned."""
    value = st.session_state.get(field_key(kind, name))
    if isinstance(value, list):
        return tuple(clean_text(v) if isinstance(v, str) else v for v in value)
    return clean_text(value) if isinstance(value, str) else value


def _multi(
    kind: str,
    name: str,
    options: list,
    values: dict,
    format_func=str,
    *,
    new: bool = False,
    **kwargs,
) -> None:
    current = list(values.get(name) or [])
    if new:
        options = list(dict.fromkeys([*options, *current]))
    st.multiselect(
        t(label_of("rules.field", name)),
        options,
        default=[v for v in current if v in options],
        format_func=format_func,
        key=field_key(kind, name),
        accept_new_options=new,
        **kwargs,
    )


def _number(kind: str, name: str, values: dict, **kwargs) -> None:
    st.number_input(
        t(label_of("rules.field", name)),
        value=values.get(name),
        step=1,
        key=field_key(kind, name),
        **kwargs,
    )


def _text(kind: str, name: str, values: dict, **kwargs) -> None:
    text_input(
        t(label_of("rules.field", name)),
        value=values.get(name) or "",
        key=field_key(kind, name),
        **kwargs,
    )


def _check(kind: str, name: str, values: dict, **kwargs) -> None:
    st.checkbox(
        t(label_of("rules.field", name)),
        value=bool(values.get(name)),
        key=field_key(kind, name),
        **kwargs,
    )


def _time(kind: str, name: str, values: dict, **kwargs) -> None:
    st.time_input(
        t(label_of("rules.field", name)),
        value=values.get(name),
        key=field_key(kind, name),
        **kwargs,
    )


def _units(kind: str, name: str, ctx: RuleContext, v: dict, none_key: str | None, **kwargs) -> None:
    """A unit picker: the active units in scope (and "none" unless `none_key` is None).
    A stored unit that has closed stays shown, so the save says why it cannot work
    instead of the rule silently moving to another unit."""
    options = ([] if none_key is None else [None]) + list(ctx.units)
    current = v.get(name)
    if current is not None and current not in options and current in ctx.unit_labels:
        options.append(current)
    _select(
        kind,
        name,
        options or [None],
        lambda i: (
            ctx.unit_labels.get(i, f"#{i}") if i is not None else (t(none_key) if none_key else "")
        ),
        v,
        **kwargs,
    )


def _common(kind: str, ctx: RuleContext, v: dict) -> None:
    _text(kind, "name", v)
    row = st.columns(4)
    with row[0]:
        _number(
            kind,
            "priority",
            v,
            help=t(
                "Lower numbers run first; two running rules on one business line need different numbers."
            ),
        )
    with row[1]:
        _select(
            kind,
            "business_line_id",
            [None, *ctx.lines],
            lambda i: ctx.lines.get(i, t("Any business line")),
            v,
        )
    with row[2]:
        required = kind == "departure" or not ctx.company_wide
        _units(
            kind,
            "org_unit_id",
            ctx,
            v,
            None if required else N_("Whole company"),
            help=t(
                "The unit whose managers own this rule. Only company-wide managers may keep a rule for the whole company."
            ),
        )
    with row[3]:
        _check(kind, "enabled", v)


def _dispatch(kind: str, ctx: RuleContext, v: dict) -> None:
    st.markdown(f"**{t('Which opportunities (empty: any)')}**")
    row = st.columns(3)
    with row[0]:
        _multi(
            kind,
            "channels",
            list(ctx.channels),
            v,
            lambda c: ctx.channels.get(c, c),
            placeholder=t("Any"),
        )
    with row[1]:
        _multi(
            kind,
            "regions",
            [],
            v,
            new=True,
            placeholder=t("Any"),
            help=t("Type a region and press Enter to add it."),
        )
    with row[2]:
        _multi(
            kind,
            "intention_levels",
            every("intention_level"),
            v,
            lambda level: option_text("intention_level", level),
            placeholder=t("Any"),
        )
    row = st.columns(3)
    with row[0]:
        _text(
            kind,
            "campaign_prefix",
            v,
            help=t("Matches campaigns whose name starts with this text."),
        )
    for column, name in zip(row[1:], ("hours_from", "hours_to"), strict=True):
        with column:
            _time(
                kind,
                name,
                v,
                help=t(
                    "Company local time. Leave both empty for all day; a start later than the end spans midnight."
                ),
            )
    st.markdown(f"**{t('Who receives them')}**")
    row = st.columns(3)
    with row[0]:
        _units(kind, "target_unit_id", ctx, v, N_("None"))
    with row[1]:
        _multi(
            kind,
            "target_user_ids",
            list(ctx.reps),
            v,
            lambda i: ctx.reps.get(i, f"#{i}"),
            placeholder=t("Nobody named"),
        )
    with row[2]:
        _select(
            kind,
            "strategy",
            list(DISPATCH_STRATEGIES),
            lambda name: t(label_of("rules.strategy", name)),
            v,
        )
    row = st.columns(3)
    with row[0]:
        _text(kind, "skill_tag", v)
    with row[1]:
        _check(kind, "skill_required", v, help=t("Off: reps with the tag first, then the others."))
    with row[2]:
        _number(
            kind,
            "no_return_days",
            v,
            help=t(
                "An opportunity recycled from a rep does not go back to them within this many days."
            ),
        )


def _recycle(kind: str, ctx: RuleContext, v: dict) -> None:
    row = st.columns(3)
    with row[0]:
        _select(
            kind,
            "trigger",
            list(RECYCLE_TRIGGERS),
            lambda name: t(label_of("rules.trigger", name)),
            v,
        )
    with row[1]:
        _number(
            kind, "after", v, help=t("Hours for “no first follow-up”, days for the other triggers.")
        )
    with row[2]:
        _number(
            kind, "warn_days", v, help=t("0: no warning. The warning must come before the recycle.")
        )
    row = st.columns(3)
    with row[0]:
        _select(
            kind,
            "exempt_from_stage",
            [None, *OPEN_STAGES],
            lambda s: stage_text(s) if s else t("No exemption"),
            v,
            help=t("Opportunities at this stage or later are never recycled by this rule."),
        )
    with row[1]:
        _multi(
            kind,
            "exempt_intentions",
            every("intention_level"),
            v,
            lambda level: option_text("intention_level", level),
            placeholder=t("No exemption"),
        )
    with row[2]:
        _number(
            kind,
            "dormant_after",
            v,
            help=t(
                "An opportunity recycled this many times goes dormant; only managers re-activate it."
            ),
        )
    row = st.columns(3)
    with row[0]:
        _select(
            kind, "target", list(RECYCLE_TARGETS), lambda name: t(label_of("rules.target", name)), v
        )
    with row[1]:
        _units(
            kind,
            "team_unit_id",
            ctx,
            v,
            N_("None"),
            help=t("Only when recycled opportunities go to a team."),
        )


def _claim(kind: str, ctx: RuleContext, v: dict) -> None:
    row = st.columns(3)
    with row[0]:
        _number(kind, "daily_claims", v)
    with row[1]:
        _number(
            kind,
            "holding_cap",
            v,
            placeholder=t("Each rep's own cap"),
            help=t("Leave empty to use each rep's own holding cap."),
        )
    with row[2]:
        _number(
            kind,
            "cooldown_days",
            v,
            help=t("A rep may not re-claim what was recycled from them within this many days."),
        )


def _departure(kind: str, ctx: RuleContext, v: dict) -> None:
    _select(kind, "target", list(DEPARTURE_TARGETS), lambda name: t(label_of("departure", name)), v)


def _renewal(kind: str, ctx: RuleContext, v: dict) -> None:
    row = st.columns(3)
    with row[0]:
        _number(
            kind,
            "days_before",
            v,
            help=t(
                "Opened this many days before the course ends; a course that ended no longer ago than this is renewed too. At most {maximum}.",
                maximum=RENEWAL_MAX_DAYS,
            ),
        )
    with row[1]:
        _select(
            kind,
            "assign_to",
            list(RENEWAL_TARGETS),
            lambda name: t(label_of("rules.assign_to", name)),
            v,
        )


_FIELDS = {
    "dispatch": _dispatch,
    "recycle": _recycle,
    "claim": _claim,
    "departure": _departure,
    "renewal": _renewal,
}


def draft_from_form(kind: str) -> RuleDraft:
    """The rule the form holds, as the core's draft (its documents built by the spec)."""
    values = {f.name: _value(kind, f.name) for f in fields(SPECS[kind])}
    conditions, action = spec_documents(SPECS[kind](**values))
    priority = _value(kind, "priority")
    return RuleDraft(
        name=_value(kind, "name") or "",
        priority=int(priority) if priority is not None else 0,
        business_line_id=_value(kind, "business_line_id"),
        org_unit_id=_value(kind, "org_unit_id"),
        enabled=bool(_value(kind, "enabled")),
        conditions=conditions,
        action=action,
    )


def rule_form(kind: str, ctx: RuleContext, rules: list) -> None:
    """The create/edit form of `kind`, with Save and (dispatch, recycle, renewal) Dry run."""
    editing_id = st.session_state.get(key(kind, "editing"))
    editing = next((r for r in rules if r.id == editing_id), None)
    if editing_id is not None and editing is None:  # deleted meanwhile
        load(kind)
        editing_id = None
    values = _values(kind, ctx, rules)
    if editing is not None:
        st.subheader(
            tmd("Edit “{name}” (version {version})", name=editing.name, version=editing.version)
        )
        if st.button(t("Stop editing, start a new rule"), key=key(kind, "cancel")):
            load(kind)
            st.rerun()
    else:
        st.subheader(t("New rule"))
    with st.form(key(kind, "form")):
        _common(kind, ctx, values)
        _FIELDS[kind](kind, ctx, values)
        buttons = st.columns(4)
        with buttons[0]:
            save = st.form_submit_button(t("Save rule"), key=key(kind, "save"), type="primary")
        dry = False
        if kind in PREVIEW_KINDS:
            with buttons[1]:
                dry = st.form_submit_button(
                    t("Dry run"),
                    key=key(kind, "dry"),
                    help=t(
                        "Shows what the rules would do right now with this draft, without saving anything."
                    ),
                )
    confirmed = _confirmation(kind, ctx, editing_id)
    if not (save or dry or confirmed):
        return
    try:
        draft = confirmed or draft_from_form(kind)
        with session() as s:
            if save and kind in PREVIEW_KINDS:
                # Saving a rule that would move many opportunities at once asks first.
                result = preview_rule(s, ctx.me, kind, draft, editing_id)
                s.rollback()
                moves = draft_moves(result, editing_id)
                if moves > CONFIRM_ABOVE:
                    st.session_state[key(kind, "confirm")] = (draft, editing_id, moves)
                    st.rerun()
            if save or confirmed:
                rule = save_rule(s, ctx.me, kind, draft, editing_id)
                saved = (rule.name, rule.version)
            else:
                result = preview_rule(s, ctx.me, kind, draft, editing_id)
                s.rollback()  # a dry run keeps nothing, whatever the engine touched
    except CrmError as error:
        st.error(rule_error(error))
        return
    if save or confirmed:
        flash(N_("Rule “{name}” saved (version {version})."), name=saved[0], version=saved[1])
        load(kind)
        st.rerun()
    show_preview(kind, result, editing_id, ctx.names)


def _confirmation(kind: str, ctx: RuleContext, editing_id: int | None) -> RuleDraft | None:
    """The draft waiting for the manager's word because its dry run moves many opportunities:
    returned once they confirm; dropped when they go back to editing."""
    pending = st.session_state.get(key(kind, "confirm"))
    if not pending or pending[1] != editing_id:
        return None
    draft, _, moves = pending
    st.warning(
        ntmd(
            "Saved now, “{name}” would move {count} opportunity at once (more than {limit}). Save it anyway?",
            "Saved now, “{name}” would move {count} opportunities at once (more than {limit}). Save it anyway?",
            moves,
            name=draft.name,
            count=number(moves),
            limit=CONFIRM_ABOVE,
        )
    )
    yes, no = st.columns(2)
    if yes.button(t("Yes, save it"), key=key(kind, "confirm_yes"), type="primary"):
        del st.session_state[key(kind, "confirm")]
        return draft
    if no.button(t("No, keep editing"), key=key(kind, "confirm_no")):
        del st.session_state[key(kind, "confirm")]
        st.rerun()
    return None
