"""Every action and target the core writes to the audit log has a label in both languages:
the audit page never shows a bare code such as `rule.create`."""

from __future__ import annotations

import ast
from pathlib import Path

from crm_core.circulation.rules import RULE_MODELS
from crm_core.imports.customers import CUSTOMERS
from crm_core.imports.payments import PAYMENTS
from crm_core.imports.roster import ROSTER
from crm_core.imports.study import STUDY
from crm_core.imports.targets import TARGETS
from crm_core.platform.i18n import label_of, translate
from crm_core.platform.i18n.labels import LABELS

CORE = Path(__file__).resolve().parent.parent / "crm_core"
# Calls that pass (action, target type) on to `audit.record`, by name: argument positions.
RECORDERS = {"record": (2, 3), "audit_import": (2, 3)}


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _written() -> tuple[set[str], set[str], list[str]]:
    """The constant actions and targets of every recording call, and the calls whose action
    is computed (checked one by one below)."""
    actions: set[str] = set()
    targets: set[str] = set()
    computed: list[str] = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(
                node.func, ast.Attribute | ast.Name
            ):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name not in RECORDERS or len(node.args) <= RECORDERS[name][1]:
                continue
            if name == "record" and getattr(node.func, "value", None) is not None:
                if getattr(node.func.value, "id", "") != "audit":
                    continue
            action, target = (node.args[i] for i in RECORDERS[name])
            for value, into in ((action, actions), (target, targets)):
                text = _constant(value)
                if text is not None:
                    into.add(text)
                else:
                    computed.append(f"{path.relative_to(CORE)}:{node.lineno}")
    return actions, targets, computed


def test_every_audited_action_and_target_has_a_label():
    actions, targets, _ = _written()
    assert actions and targets
    assert sorted(actions - set(LABELS["audit.action"])) == []
    assert sorted(targets - set(LABELS["audit.target"])) == []


def test_computed_actions_are_labelled_too():
    """The few recording calls that compute their action: each family is listed here."""
    _, _, computed = _written()
    files = sorted({place.split(":")[0] for place in computed})
    assert files == [
        "circulation/rules.py",
        "commerce/products.py",
        "custom_fields/values.py",
        "imports/engine/run.py",
        "imports/file_import.py",
        "org/roles.py",
        "org/units.py",
        "platform/provider_settings.py",
        "sms/templates.py",
    ]
    for change in ("create", "update", "enable", "disable", "move", "delete"):
        assert f"rule.{change}" in LABELS["audit.action"]
    for change in ("create", "update", "submit", "approve", "reject", "retire"):
        assert f"sms_template.{change}" in LABELS["audit.action"]
    for provider in ("sms", "calls"):  # each provider's settings record their own action
        assert f"{provider}.provider" in LABELS["audit.action"]
    for kind in RULE_MODELS:
        assert f"{kind}_rule" in LABELS["audit.target"]
    for entity in ("lead", "opportunity"):
        assert f"{entity}.custom_fields" in LABELS["audit.action"]
        assert entity in LABELS["audit.target"]
    # The import engine records each spec's action and target.
    for spec in (CUSTOMERS, STUDY, PAYMENTS, ROSTER, TARGETS):
        assert spec.audit_action in LABELS["audit.action"]
        assert spec.audit_target in LABELS["audit.target"]


def test_labels_read_in_chinese():
    assert translate(label_of("audit.action", "rule.create"), "zh") != "Rule created"
