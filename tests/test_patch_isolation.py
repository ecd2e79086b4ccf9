"""A test's patch ends with the test: no module of the app keeps it for the tests after.

The case that made a page test depend on the tests before it: a test patched
`ui.i18n.language` (formatting options in its own language outside a run) while its
AppTest imported `ui.custom_fields` for the first time; `from ui.i18n import language`
there kept the patch, and a later test's multiselect sent English labels to a Chinese
page, which dropped them: the custom-field filter found every lead."""

from __future__ import annotations

import importlib
import sys

import ui
from tests.isolation import app_module_names, leaked_test_functions
from ui import custom_fields, i18n


def test_every_module_of_the_app_is_imported_before_the_tests():
    missing = [name for name in app_module_names() if name not in sys.modules]
    assert not missing


def test_a_module_imported_after_a_patch_keeps_the_real_function(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(i18n, "language", lambda: "en")
        # What the page test's AppTest run did: the import under the patch is a no-op.
        assert importlib.import_module("ui.custom_fields").language is not i18n.language
    assert custom_fields.language is i18n.language
    assert not leaked_test_functions()


def test_a_patch_a_module_kept_is_found(monkeypatch):
    # A module first imported under the patch (removed from the import cache here; the
    # `monkeypatch` teardown puts the real one back before the leak check runs).
    monkeypatch.delitem(sys.modules, "ui.custom_fields")
    monkeypatch.setattr(ui, "custom_fields", custom_fields)
    with monkeypatch.context() as patch:
        patch.setattr(i18n, "language", lambda: "en")
        fresh = importlib.import_module("ui.custom_fields")
    assert fresh.language is not i18n.language
    assert "ui.custom_fields.language" in leaked_test_functions()
