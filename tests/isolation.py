"""Keeping a test's patches inside the test.

`monkeypatch.setattr(ui.i18n, "language", ...)` is undone after the test, but a module
that runs `from ui.i18n import language` for the first time while the patch is on keeps
the patched function for the rest of the process: the tests after it then run with it,
and fail or pass depending on which test happened to import the module first. Two
measures close that off: every module of the app is imported when the suite starts,
before any test can patch (so what a module imports by name is always the real thing),
and after each test no module of the app may still hold a function written in a test."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
import types
from pathlib import Path

# The packages a test may patch and the app imports by name; pages are scripts each run
# executes afresh, so they take no name for longer than the run.
APP_PACKAGES = ("ui", "crm_core", "crm_api", "db")
# Run as commands or read by Alembic from files, not imported.
_NOT_IMPORTED = ("db.migrations",)
_TESTS = Path(__file__).resolve().parent


def app_module_names() -> list[str]:
    """The dotted names of every module of the app's packages."""
    names: list[str] = []
    for package in APP_PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if info.name.endswith(".__main__") or info.name.startswith(_NOT_IMPORTED):
                continue
            names.append(info.name)
    return names


def import_app_modules() -> None:
    """Import every module of the app now, before any test patches what they import."""
    for name in app_module_names():
        importlib.import_module(name)


def leaked_test_functions() -> list[str]:
    """`module.name` for each function written in the tests that a module of the app holds
    (a patch that outlived its test)."""
    leaked: list[str] = []
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in APP_PACKAGES:
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and _written_in_tests(value):
                leaked.append(f"{name}.{attribute}")
    return leaked


def _written_in_tests(function: types.FunctionType) -> bool:
    return _in_tests(function.__code__.co_filename)


@functools.cache
def _in_tests(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(_TESTS)
