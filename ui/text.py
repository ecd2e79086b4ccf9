"""User text inside Markdown: what people typed shows as typed, never as Markdown or HTML.

Streamlit renders GitHub-flavoured Markdown in far more places than `st.markdown`: titles,
headers, captions, alerts, toasts, `st.write` of a string, metric labels and values, tab
and expander labels, button and page-link labels, widget labels and tooltips, radio and
pills options, progress texts. A lead called `![x](http://host/beacon.png)` would load a
remote image in any of them, and a masked phone `150****3424` would turn bold.

So every value that comes from people or files (names, WeChat ids, regions, campaigns,
units, reasons, notes, file names, error parameters) goes through `md()` before it is put
into any of those, and translated texts that carry such values are built with
`ui.i18n.tmd()`, which escapes every parameter (`show_error`, `show_flash` and
`ui.sales.open_link` do it themselves). Plain-text places - dataframe cells, selectbox and
multiselect options, text input values and placeholders - take the raw value: escaping
there would show the backslashes. Plotly charts read HTML instead (`ui.dashboards`).
"""

from __future__ import annotations

import re
from typing import Any

# Inline Markdown that Streamlit interprets anywhere in a line: emphasis and strikethrough
# (* _ ~), code (`), links and images ([ ]: no link, image or `:red[...]` directive opens
# without a bracket, so `(`, `)` and `!` may stay), LaTeX ($), tables (|). A backslash
# keeps each literal (CommonMark escapes any ASCII punctuation), and escapes itself first.
_INLINE = re.compile(r"([\\`*_~\[\]$|])")
# A colon starts `:material/icon:` and emoji shortcodes, and `http:` a bare autolink, as
# `www.` does; a colon between digits (a time, `10:30`) cannot, and stays for readability.
_COLON = re.compile(r"(?<!\d):|:(?!\d)")
_WWW = re.compile(r"(?i)\b(www)\.")
# What starts a block only at the beginning of a line: a heading (`#`), a list (`-`, `+`,
# `1.`, `1)`; `*` is escaped anyway), a setext underline (`=`); a quote (`>`) is an entity.
_LINE_START = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|[-+=]|\d+(?=[.)]))")
# HTML: Streamlit drops raw HTML from Markdown, but an entity shows the character itself.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape_line(line: str) -> str:
    line = "".join(_HTML.get(char, char) for char in line)
    line = _INLINE.sub(r"\\\1", line)
    line = _COLON.sub(r"\\:", line)
    line = _WWW.sub(r"\1\\.", line)
    match = _LINE_START.match(line)
    if match:
        indent, mark = match.groups()
        rest = line[match.end() :]
        # `1.` keeps its number and escapes what follows it; a mark is escaped itself.
        line = f"{indent}{mark}\\{rest}" if mark.isdigit() else f"{indent}\\{mark}{rest}"
    return line


def md(value: Any) -> str:
    """`value` as text that Streamlit's Markdown shows literally: every character that
    Markdown, its directives or HTML would interpret is escaped, and each line break stays
    a line break. None shows as nothing."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # A hard break ("  \n") keeps the lines without ever starting a new block.
    return "  \n".join(_escape_line(line) for line in lines)
