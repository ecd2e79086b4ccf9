"""The catalogues' upkeep, as `pybabel` runs it: `python -m crm_core.platform.i18n.catalogues
extract | update | compile | missing | fill FILE`. Extract writes `locale/messages.pot` from the code; update merges
it into each language's `messages.po` (new messages arrive untranslated, and the suite says
which); compile writes the `.mo` files the console reads (`./run.sh` and `./test.sh` run it)."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from crm_core.platform.i18n import DOMAIN, LOCALE_DIR, LOCALES

ROOT = LOCALE_DIR.parent
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
# The calls whose first argument is a message: `t`/`tmd` on pages, `translate` in the core,
# `N_`/`NC_` where a message is written before it is shown, and the plural forms.
KEYWORDS = (
    "t",
    "tmd",
    "translate",
    "N_",
    "NC_:1c,2",
    "NP_:1,2",
    "nt:1,2",
    "ntmd:1,2",
    "ntranslate:1,2",
)


def extract_messages(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str | tuple[str | None, ...], list[str]]]:
    """Babel's extraction method for this code (babel.cfg): the calls named in `keywords`,
    read from the syntax tree, so a call inside an f-string counts too (Babel's own Python
    extractor reads an f-string as one token)."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in keywords:
            continue
        strings = tuple(
            a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
            for a in node.args
        )
        if strings and any(s is not None for s in strings):
            yield node.lineno, name, strings if len(strings) > 1 else strings[0], []


def extract(template: Path = TEMPLATE) -> None:
    """Write the template of every message the code marks."""
    arguments = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--sort-output"]
    arguments += ["--no-location", "--omit-header", "--no-wrap", "--no-default-keywords"]
    for keyword in KEYWORDS:
        arguments += ["-k", keyword]
    CommandLineInterface().run([*arguments, "-o", str(template), str(ROOT)])


def update() -> None:
    """Merge the template into each language's catalogue."""
    for locale in LOCALES.values():
        CommandLineInterface().run(
            [
                "pybabel",
                "-q",
                "update",
                "-i",
                str(TEMPLATE),
                "-d",
                str(LOCALE_DIR),
                "-l",
                locale,
                "--no-wrap",
                "--ignore-obsolete",
                "--no-fuzzy-matching",
            ]
        )


def compile_catalogues() -> None:
    """Write each language's `.mo` file. Babel's own compile would check the messages as
    %-formats too and refuse "50% off"; the messages use `{name}` fields only, which the
    suite checks (tests/test_i18n.py)."""
    for locale in LOCALES.values():
        folder = LOCALE_DIR / locale / "LC_MESSAGES"
        with (folder / f"{DOMAIN}.po").open("rb") as source:
            messages = read_po(source, locale=locale)
        with (folder / f"{DOMAIN}.mo").open("wb") as target:
            write_mo(target, messages)


def missing() -> None:
    """Print, as JSON ready to fill in, every message the Chinese catalogue lacks
    (`{"context\\u0004msgid": ""}` where the message has a context)."""
    folder = LOCALE_DIR / LOCALES["zh"] / "LC_MESSAGES"
    with (folder / f"{DOMAIN}.po").open("rb") as source:
        messages = read_po(source, locale=LOCALES["zh"])
    wanted = {}
    for message in messages:
        if message.id and not any(
            message.string if isinstance(message.string, tuple) else [message.string]
        ):
            key = message.id if isinstance(message.id, str) else message.id[0]
            wanted[f"{message.context}\x04{key}" if message.context else key] = ""
    print(json.dumps(wanted, ensure_ascii=False, indent=1))


def fill(path: str) -> None:
    """Take translations from a JSON file shaped as `missing` prints it (`{msgid: 中文}`):
    the Chinese catalogue gets them (one form for every count, keyed by the singular), the
    English one repeats its msgid (both forms of a plural)."""
    given = json.loads(Path(path).read_text(encoding="utf-8"))
    for language, locale in LOCALES.items():
        folder = LOCALE_DIR / locale / "LC_MESSAGES"
        with (folder / f"{DOMAIN}.po").open("rb") as source:
            messages = read_po(source, locale=locale)
        for message in messages:
            plural = not isinstance(message.id, str)
            done = any(message.string) if plural else message.string
            if not message.id or done:
                continue
            text = message.id[0] if plural else message.id
            key = f"{message.context}\x04{text}" if message.context else text
            if language == "en":
                message.string = tuple(message.id) if plural else message.id
            elif given.get(key):
                # Chinese has one form for every count.
                message.string = (given[key],) if plural else given[key]
        with (folder / f"{DOMAIN}.po").open("wb") as target:
            write_po(target, messages, width=0, omit_header=False, ignore_obsolete=True)


if __name__ == "__main__":
    commands = {
        "extract": extract,
        "update": update,
        "compile": compile_catalogues,
        "missing": missing,
    }
    arguments = sys.argv[1:] or ["compile"]
    if arguments[0] == "fill":
        fill(arguments[1])
    else:
        for name in arguments:
            commands[name]()
