"""What every database needs before its first user: the built-in roles and default option
lists. Safe to run again: it only adds what is missing."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_core.models import DEFAULT_STAGES, MetadataOption, Role
from crm_core.platform.permissions import BUILTIN_DISCOUNTS, BUILTIN_ROLES

DEFAULT_CHANNELS = {
    "sem": ("Search ads (SEM)", "搜索广告"),
    "feed": ("Feed ads", "信息流广告"),
    "seo": ("Organic search (SEO)", "自然搜索"),
    "content": ("Content / social", "内容营销"),
    "chat": ("Website chat", "在线咨询"),
    "form": ("Landing-page form", "落地页表单"),
    "event": ("Events / livestreams", "活动直播"),
    "referral": ("Referral", "转介绍"),
    "import": ("List import", "名单导入"),
}
# Each default channel's group in the channel reports (migration 0011 sets the same).
CHANNEL_GROUP = {
    "sem": "paid",
    "feed": "paid",
    "seo": "organic",
    "content": "organic",
    "chat": "organic",
    "form": "paid",
    "event": "offline",
    "referral": "referral",
    "import": "other",
}
DEFAULT_INTENTION_LEVELS = {
    "A": ("A: ready to buy", "A：马上购买"),
    "B": ("B: interested", "B：有兴趣"),
    "C": ("C: undecided", "C：观望"),
    "D": ("D: no intention", "D：无意向"),
}
DEFAULT_LOST_REASONS = {
    "price": ("Price too high", "价格太高"),
    "no_need": ("No longer needed", "需求消失"),
    "competitor": ("Chose a competitor", "选择竞品"),
    "unreachable": ("Cannot be reached", "无法联系"),
    "timing": ("Not now", "时间不合适"),
}
# What a follow-up came to; `channel` says which channel each belongs to (None: any).
DEFAULT_FOLLOW_UP_RESULTS = {
    "connected": ("Connected, talked", "已接通"),
    "no_answer": ("No answer", "未接听"),
    "busy": ("Line busy", "占线"),
    "hung_up": ("Hung up", "挂断"),
    "replied": ("Replied", "已回复"),
    "no_reply": ("No reply", "未回复"),
    "sent": ("Sent", "已发送"),
    "visited": ("Visited / met", "已面谈"),
    "noted": ("Noted", "已记录"),
}
STAGE_LABELS = {
    "new": ("New", "新商机"),
    "contacted": ("Contacted", "已联系"),
    "qualified": ("Qualified", "有意向"),
    "trial_booked": ("Trial booked", "已约试听"),
    "trial_done": ("Trial done", "已试听"),
    "won": ("Won", "已成单"),
    "lost": ("Lost", "已流失"),
}


def ensure_builtin_roles(session: Session) -> dict[str, Role]:
    """Create any missing built-in role; return all of them by code."""
    existing = {r.code: r for r in session.exec(select(Role).where(Role.builtin)).all()}
    for code, (permissions, scope) in BUILTIN_ROLES.items():
        if code not in existing:
            role = Role(
                code=code,
                name=code.replace("_", " ").title(),
                permissions=sorted(permissions),
                data_scope=str(scope),
                max_discount_pct=BUILTIN_DISCOUNTS.get(code, 0),
                builtin=True,
            )
            session.add(role)
            existing[code] = role
    session.flush()
    return existing


def ensure_default_metadata(session: Session) -> None:
    """Create the default channels, stages, lost reasons, follow-up results and intention
    levels where missing."""
    have = set(
        session.exec(
            select(MetadataOption.category, MetadataOption.code).where(
                MetadataOption.business_line_id.is_(None)
            )
        ).all()
    )
    lists = {
        "channel": DEFAULT_CHANNELS,
        "stage": {code: STAGE_LABELS[code] for code in DEFAULT_STAGES},
        "lost_reason": DEFAULT_LOST_REASONS,
        "follow_up_result": DEFAULT_FOLLOW_UP_RESULTS,
        "intention_level": DEFAULT_INTENTION_LEVELS,
    }
    for category, options in lists.items():
        for order, (code, (en, zh)) in enumerate(options.items()):
            if (category, code) not in have:
                session.add(
                    MetadataOption(
                        category=category,
                        code=code,
                        label_en=en,
                        label_zh=zh,
                        sort_order=order,
                        option_group=CHANNEL_GROUP.get(code) if category == "channel" else None,
                    )
                )
    session.flush()


def bootstrap(session: Session) -> None:
    """Everything a fresh database needs; flushes, the caller commits."""
    ensure_builtin_roles(session)
    ensure_default_metadata(session)
    session.flush()
