"""The demo company's SMS platform: approved templates (a trial reminder the worker sends the
day before each booked trial, a follow-up note, a marketing offer), one waiting for approval,
the sensitive-word list, the demo provider (it sends nothing) and the signature."""

from __future__ import annotations

from sqlmodel import Session

from crm_core.platform.actor import Actor
from crm_core.platform.settings import set_setting
from crm_core.sms.provider_config import save_provider_config
from crm_core.sms.templates import approve_template, create_template, submit_template
from crm_core.sms.words import add_words

SYSTEM = Actor.system()
TEMPLATES = (
    (
        "试听提醒 Trial reminder",
        "{name}您好，您预约的试听课在 {trial_time}，{rep}老师等您。",
        "notice",
        True,
    ),
    (
        "跟进回访 Follow-up",
        "{name}您好，我是{line}的{rep}，刚才没打通电话，方便时请回电。",
        "notice",
        True,
    ),
    (
        "春季优惠 Spring offer",
        "{name}您好，{line}春季班报名立减500元，回复TD退订。",
        "marketing",
        True,
    ),
    ("暑期班 Summer class", "{name}您好，{line}暑期班开始报名，回复TD退订。", "marketing", False),
)
WORDS = "保过\n包过\n加微信\n内部渠道\n返现\n最便宜"


def seed_sms(session: Session) -> None:
    """Templates, words and settings of the demo's SMS platform (flushed)."""
    reminder = None
    for name, body, purpose, approve in TEMPLATES:
        template = create_template(session, SYSTEM, name=name, body=body, purpose=purpose)
        submit_template(session, SYSTEM, template.id)
        if approve:
            approve_template(session, SYSTEM, template.id)
        reminder = reminder or template.id
    add_words(session, SYSTEM, WORDS)
    save_provider_config(session, SYSTEM, kind="demo")
    set_setting(session, SYSTEM, "sms.signature", "【演示教育】")
    set_setting(session, SYSTEM, "sms.reminder_template_id", reminder)
