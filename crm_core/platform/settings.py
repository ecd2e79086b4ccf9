"""Settings that admins change in the browser, each typed and bounded."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from crm_core.models import Setting
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


def _known_zone(value: Any) -> None:
    try:
        ZoneInfo(str(value or "").strip() or "?")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(N_("“{zone}” is not a known time zone."), zone=value) from exc


def _company_name(value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 120:
        raise ValidationError(N_("Give the company a name (at most 120 characters)."))


def _signature(value: Any) -> None:
    if not isinstance(value, str) or len(value) > 20:
        raise ValidationError(N_("The SMS signature has at most 20 characters, e.g. 【Demo Edu】."))


def _won_at(value: Any) -> None:
    if value not in ("deposit", "full"):
        raise ValidationError(
            N_("An instalment order wins its opportunity at the deposit or when paid in full."),
            setting="orders.won_at",
        )


def _currency(value: Any) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError(
            N_("“{currency}” is no currency code: use three capital letters such as CNY or USD."),
            currency=value,
        )


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    # A further check of the typed value (raises ValidationError), e.g. a known time zone.
    check: Callable[[Any], Any] | None = None

    def coerce(self, value: Any) -> Any:
        """Return `value` as this setting's type, or raise ValidationError with the reason."""
        if self.check is not None:
            self.check(value)
            return self.kind(value)
        try:
            typed = self.kind(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(N_("{setting}: wrong type of value."), setting=self.key) from exc
        if self.minimum is not None and typed < self.minimum:
            raise ValidationError(
                N_("{setting}: must be at least {minimum}."), setting=self.key, minimum=self.minimum
            )
        if self.maximum is not None and typed > self.maximum:
            raise ValidationError(
                N_("{setting}: must be at most {maximum}."), setting=self.key, maximum=self.maximum
            )
        return typed


DEFINITIONS: dict[str, SettingDefinition] = {
    d.key: d
    for d in (
        SettingDefinition("login.max_failed_attempts", int, 5, 1, 100),
        SettingDefinition("login.lock_minutes", int, 15, 1, 24 * 60),
        SettingDefinition("login.cookie_expiry_days", float, 7.0, 0.01, 90),
        # The sign-in cookie's life without activity; it is renewed while the user works.
        SettingDefinition("login.session_idle_minutes", int, 60, 5, 24 * 60),
        SettingDefinition("export.max_rows", int, 50_000, 1, 1_000_000),
        # The company's IANA zone: what "today", "this month" and "09:00" mean, daylight
        # saving included (crm_core.platform.company_time).
        SettingDefinition("company.time_zone", str, "Asia/Shanghai", check=_known_zone),
        SettingDefinition("company.name", str, "", check=_company_name),
        SettingDefinition("company.currency", str, "CNY", check=_currency),
        # An order paid in instalments wins its opportunity at its first payment (deposit)
        # or when paid in full (full); revenue is credited per payment either way.
        SettingDefinition("orders.won_at", str, "deposit", check=_won_at),
        SettingDefinition("dispatch.batch_size", int, 100_000, 100, 1_000_000),
        SettingDefinition("claim.default_daily_claims", int, 20, 1, 10_000),
        SettingDefinition("claim.default_cooldown_days", int, 7, 0, 365),
        # Managers hear of a recycle taking more of one team's opportunities than this
        # within a day (crm_core.circulation.recycle_teams); 0: never.
        SettingDefinition("recycle.warn_over", int, 200, 0, 1_000_000),
        SettingDefinition("worker.dispatch_seconds", int, 60, 5, 24 * 3600),
        SettingDefinition("worker.recycle_minutes", int, 15, 1, 24 * 60),
        SettingDefinition("worker.warning_minutes", int, 60, 1, 24 * 60),
        SettingDefinition("worker.renewal_minutes", int, 60, 1, 24 * 60),
        SettingDefinition("worker.sms_seconds", int, 60, 10, 3600),
        # The QA job draws each plan once a week; it only looks this often for a newly
        # ended week (or a plan just added or resumed).
        SettingDefinition("worker.qa_minutes", int, 60, 1, 24 * 60),
        SettingDefinition("worker.push_seconds", int, 60, 10, 3600),
        # Work-chat pushes (docs/work_chat.md): messages per robot per minute (WeCom's group
        # robots take 20), attempts before a refused push fails, the first wait before a
        # retry (doubled each time), and how old a notice may be and still be pushed.
        SettingDefinition("push.per_minute", int, 20, 1, 1000),
        SettingDefinition("push.max_attempts", int, 5, 1, 20),
        SettingDefinition("push.retry_minutes", int, 5, 1, 24 * 60),
        SettingDefinition("push.max_age_hours", int, 24, 1, 7 * 24),
        SettingDefinition("push.timeout_seconds", float, 5.0, 1, 30),
        # SMS (edited on the SMS page): what a segment costs, how fast the provider is fed,
        # how many messages one lead gets a day, the largest send, the company's signature
        # (China's carriers want 【Name】), and the trial reminder (hour, template; 0 = off).
        SettingDefinition("sms.price_per_segment", float, 0.05, 0, 10),
        SettingDefinition("sms.per_minute", int, 600, 1, 100_000),
        SettingDefinition("sms.per_lead_per_day", int, 3, 1, 100),
        SettingDefinition("sms.max_per_send", int, 10_000, 1, 1_000_000),
        SettingDefinition("sms.signature", str, "", check=_signature),
        SettingDefinition("sms.reminder_hour", int, 18, 0, 23),
        SettingDefinition("sms.reminder_template_id", int, 0, 0, 2**31 - 1),
    )
}


def get_setting(session: Session, key: str) -> Any:
    """The stored value of `key`, or its default."""
    definition = DEFINITIONS[key]
    row = session.get(Setting, key)
    if row is None or row.value is None:
        return definition.default
    return definition.coerce(row.value)


def all_settings(session: Session, actor: Actor) -> dict[str, Any]:
    """Every setting with its current value (admins only)."""
    actor.require(Permission.MANAGE_SETTINGS)
    return {key: get_setting(session, key) for key in DEFINITIONS}


def set_setting(session: Session, actor: Actor, key: str, value: Any) -> Any:
    """Validate and store a setting; the change is audited."""
    actor.require(Permission.MANAGE_SETTINGS)
    if key not in DEFINITIONS:
        raise ValidationError(N_("Unknown setting {setting}."), setting=key)
    typed = DEFINITIONS[key].coerce(value)
    before = get_setting(session, key)
    row = session.get(Setting, key) or Setting(key=key)
    row.value = typed
    row.updated_at = clock.now()
    row.updated_by_id = actor.user_id
    session.add(row)
    audit.record(session, actor, "setting.update", "setting", key, before, typed)
    session.flush()
    return typed
