"""The codes of work-chat notices (WeCom / DingTalk robots), merged into `LABELS`."""

from __future__ import annotations

from crm_core.platform.i18n.markers import N_, NC_

WORK_CHAT_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "work_chat.robot": N_("Work-chat robot saved"),
        "work_chat.robot_remove": N_("Work-chat robot removed"),
        "work_chat.test": N_("Work-chat robot tested"),
    },
    "job": {"push": N_("Work-chat notices")},
    "rules.jobs.run": {"push": N_("Push work-chat notices now")},
    "rules.count": {
        "queued": NC_("rules.count", "Queued"),
        "retrying": N_("To retry"),
        "robots_down": N_("Robots not reached"),
        "sent": NC_("rules.count", "Sent"),
        "failed": NC_("rules.count", "Failed"),
        "waiting": NC_("rules.count", "Waiting to be pushed"),
    },
    "settings": {
        "worker.push_seconds": N_("Work-chat notices are pushed every (seconds)"),
        "push.per_minute": N_("Work-chat messages per robot per minute"),
        "push.max_attempts": N_("Attempts before a refused work-chat message fails"),
        "push.retry_minutes": N_(
            "First wait before a work-chat retry (minutes, doubled each time)"
        ),
        "push.max_age_hours": N_("Oldest notice still pushed (hours)"),
        "push.timeout_seconds": N_("Wait for a work-chat robot's answer (seconds)"),
    },
    "work_chat.kind": {
        "dingtalk": N_("DingTalk robot"),
        "none": N_("No robot"),
        "wecom": N_("WeCom group robot"),
    },
    "work_chat.state": {
        "failed": NC_("work_chat.state", "Failed"),
        "queued": NC_("work_chat.state", "Queued"),
        "sent": NC_("work_chat.state", "Sent"),
    },
}
