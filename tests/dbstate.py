"""Whether the suite's database still holds only the bootstrap rows.

Its own module (not conftest.py) because test modules import `tests.conftest` under another
name than pytest gives the conftest it loads: a flag in conftest would exist twice.
"""

from __future__ import annotations

# True when committed rows beyond the bootstrap may be in the database: set by whatever
# empties it or commits for real; the rolled-back `db` fixture rebuilds it before its next test.
dirty = True
