"""Stage paths and sorted random times, the two building blocks of the activity histories.

A stage path is the list of stages an opportunity went through, e.g. new -> contacted ->
qualified -> lost. All paths are enumerated once as "templates" so that millions of
histories can be expanded with numpy instead of Python loops.
"""

from __future__ import annotations

import numpy as np

STAGES = ("new", "contacted", "qualified", "trial_booked", "trial_done", "won", "lost")
NEW, CONTACTED, QUALIFIED, TRIAL_BOOKED, TRIAL_DONE, WON, LOST = range(len(STAGES))
LAST_OPEN = TRIAL_DONE

SKIP_SHARE = 0.03  # funnel tests need paths that jump over a stage ...
BACK_SHARE = 0.02  # ... and paths that went back one stage and forward again


def _base_path(stage: int, lost_from: int) -> list[int]:
    if stage == WON:
        return [*range(LAST_OPEN + 1), WON]
    if stage == LOST:
        return [*range(lost_from + 1), LOST]
    return list(range(stage + 1))


def _variants(path: list[int]) -> tuple[list[list[int]], list[list[int]]]:
    """(skip variants, back-and-forth variants) of a base path.

    A skip drops one intermediate open stage (never `new`, the current stage, or the last
    open stage of a lost path). A back-and-forth goes from an open stage >= qualified back
    to the one before, then forward again.
    """
    closed = path[-1] in (WON, LOST)
    keep_last = 2 if path[-1] == LOST else 1
    skips = [path[:s] + path[s + 1 :] for s in range(1, len(path) - keep_last)]
    last_open = len(path) - 2 if closed else len(path) - 1
    backs = [
        path[: s + 1] + [path[s] - 1, path[s]] + path[s + 1 :]
        for s in range(1, last_open + 1)
        if path[s] >= QUALIFIED
    ]
    return skips, backs


def _build_templates() -> tuple[list[list[int]], dict[tuple[int, int], list[list[int]]]]:
    templates: list[list[int]] = []
    by_key: dict[tuple[int, int], list[list[int]]] = {}
    for stage in range(len(STAGES)):
        for lost_from in range(LAST_OPEN + 1) if stage == LOST else (-1,):
            base = _base_path(stage, lost_from)
            skips, backs = _variants(base)
            ids = []
            for group in ([base], skips, backs):
                ids.append([len(templates) + i for i in range(len(group))])
                templates.extend(group)
            by_key[stage, lost_from] = ids
    return templates, by_key


TEMPLATES, _TEMPLATE_IDS = _build_templates()
TEMPLATE_LENGTH = np.array([len(t) for t in TEMPLATES], dtype=np.int64)
TEMPLATE_STAGES = np.full((len(TEMPLATES), int(TEMPLATE_LENGTH.max())), -1, dtype=np.int64)
for _i, _t in enumerate(TEMPLATES):
    TEMPLATE_STAGES[_i, : len(_t)] = _t


def choose_templates(
    rng: np.random.Generator, stage: np.ndarray, lost_from: np.ndarray
) -> np.ndarray:
    """A path template per opportunity: mostly the plain path to its stage, ~3% with a
    skipped stage and ~2% with a step back, where the path is long enough for that."""
    out = np.empty(len(stage), dtype=np.int64)
    u = rng.random(len(stage))
    pick = rng.random(len(stage))
    for (st, lf), (base, skips, backs) in _TEMPLATE_IDS.items():
        rows = (stage == st) & (lost_from == lf if st == LOST else True)
        out[rows] = base[0]
        for ids, low, high in (
            (skips, 0, SKIP_SHARE),
            (backs, SKIP_SHARE, SKIP_SHARE + BACK_SHARE),
        ):
            if ids:
                sel = rows & (u >= low) & (u < high)
                out[sel] = np.array(ids)[(pick[sel] * len(ids)).astype(np.int64)]
    return out


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Start offset of each group in the flattened array of `counts` items per group."""
    return np.cumsum(counts) - counts


def sorted_fractions(
    rng: np.random.Generator, counts: np.ndarray, end_at_one: np.ndarray
) -> np.ndarray:
    """For each group i, `counts[i]` sorted random fractions in (0, 1), flattened group by
    group. Where `end_at_one[i]`, the last fraction of the group is exactly 1.0.

    Uses normalised cumulative sums of exponentials (the spacings of sorted uniforms), so
    no per-group sort is needed.
    """
    counts = counts.astype(np.int64)
    draws = np.where(counts > 0, counts + np.where(end_at_one, 0, 1), 0)
    group = np.repeat(np.arange(len(counts)), draws)
    cum = np.concatenate([[0.0], np.cumsum(rng.exponential(size=int(draws.sum())))])
    starts = group_starts(draws)
    before = cum[starts]
    total = cum[starts + draws] - before
    position = np.arange(len(group)) - starts[group]
    keep = position < counts[group]
    within = cum[1:][keep] - before[group[keep]]
    return within / total[group[keep]]


def strictly_increasing(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Raise values just enough that each group is strictly increasing (by >= 1).

    A running maximum of `value - position`, kept per group by adding a large group offset.
    """
    group = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(len(values)) - group_starts(counts)[group]
    shifted = values - position
    offset = group.astype(np.int64) * (
        int(shifted.max(initial=0)) - int(shifted.min(initial=0)) + 1
    )
    return np.maximum.accumulate(shifted + offset) - offset + position
