"""Chinese person names and mainland mobile numbers for the demo data.

Everything here is vectorised (numpy) because the lead table can hold a million rows; the
single-name helper is for the ~150 staff accounts.
"""

from __future__ import annotations

import random

import numpy as np

# Common surnames with rough relative frequencies (the top few cover a large share of the
# population, which is what makes a list of names look real).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.8),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("黄", 2.2),
    ("赵", 2.2),
    ("吴", 2.0),
    ("周", 1.9),
    ("徐", 1.3),
    ("孙", 1.3),
    ("马", 1.2),
    ("朱", 1.1),
    ("胡", 1.1),
    ("郭", 1.1),
    ("何", 1.0),
    ("高", 1.0),
    ("林", 1.0),
    ("罗", 0.9),
    ("郑", 0.9),
    ("梁", 0.8),
    ("谢", 0.7),
    ("宋", 0.7),
    ("唐", 0.7),
    ("许", 0.7),
    ("韩", 0.6),
    ("冯", 0.6),
    ("邓", 0.6),
    ("曹", 0.6),
    ("彭", 0.6),
    ("曾", 0.5),
    ("肖", 0.5),
    ("田", 0.5),
    ("董", 0.5),
    ("袁", 0.5),
    ("潘", 0.4),
    ("于", 0.4),
    ("蒋", 0.4),
    ("蔡", 0.4),
    ("余", 0.4),
    ("杜", 0.4),
    ("叶", 0.4),
    ("程", 0.4),
    ("苏", 0.4),
    ("魏", 0.4),
    ("吕", 0.4),
    ("丁", 0.4),
    ("任", 0.3),
    ("沈", 0.3),
    ("姚", 0.3),
    ("卢", 0.3),
    ("姜", 0.3),
    ("崔", 0.3),
    ("钟", 0.3),
    ("谭", 0.3),
    ("陆", 0.3),
    ("汪", 0.3),
    ("范", 0.3),
    ("金", 0.3),
    ("石", 0.3),
    ("廖", 0.3),
    ("贾", 0.3),
    ("夏", 0.2),
    ("韦", 0.2),
    ("付", 0.2),
    ("方", 0.2),
    ("白", 0.2),
    ("邹", 0.2),
    ("孟", 0.2),
    ("熊", 0.2),
    ("秦", 0.2),
    ("邱", 0.2),
    ("江", 0.2),
    ("尹", 0.2),
    ("薛", 0.2),
    ("闫", 0.2),
    ("段", 0.2),
    ("雷", 0.2),
    ("侯", 0.2),
    ("龙", 0.2),
    ("史", 0.2),
    ("陶", 0.2),
    ("黎", 0.2),
    ("贺", 0.2),
    ("顾", 0.2),
    ("毛", 0.2),
    ("郝", 0.2),
    ("龚", 0.2),
    ("邵", 0.2),
    ("万", 0.1),
    ("钱", 0.1),
    ("严", 0.1),
    ("覃", 0.1),
    ("武", 0.1),
    ("戴", 0.1),
    ("莫", 0.1),
    ("孔", 0.1),
    ("欧阳", 0.05),
    ("司马", 0.02),
    ("诸葛", 0.01),
    ("上官", 0.01),
)

# Characters common in given names; a given name is one or two of them.
GIVEN_CHARS: tuple[str, ...] = tuple(
    dict.fromkeys(
        "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彩春菊凤洁梅琳云莲"
        "雪荣爱香月媛瑞凡佳嘉琼珍莉璐琦晶妍茜秋珊锦青倩婷婉娴瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊"
        "薇菁梦岚馨韵艺咏卿聪澜纯悦昭冰爽茗羽希宁欣育滢筠柔竹凝晓欢霄枫芸菲寒伊亚宜可舒影"
        "阳妮宝初恒鸿桦剑灵琪晴容睿烁唯威雯萱彦宇雨忠宗曼紫逸贤浩轩子豪博文俊鹏辉鑫斌晨翔"
        "旭亮飞凯建国志海峰波林毅帆航哲昊然泽思梓涵一诺晗铭辰瀚楠烨煜琛展鸣"
    )
)

# Mainland mobile prefixes in real use (China Mobile, Unicom, Telecom and the virtual
# operators). 174 is left out: it is a satellite range and libphonenumber (which the lead
# intake validates with) rejects most of its numbers. 192 is left out too: the API
# benchmarks post new people there (`benchmarks/api_server.py`).
MOBILE_PREFIXES: tuple[int, ...] = (
    *range(130, 140),
    145,
    147,
    *range(150, 154),
    *range(155, 160),
    166,
    *range(170, 174),
    *range(175, 179),
    *range(180, 190),
    191,
    193,
    *range(195, 200),
)

_SURNAME_ARRAY = np.array([s for s, _ in SURNAMES])
_SURNAME_P = np.array([w for _, w in SURNAMES]) / sum(w for _, w in SURNAMES)
_GIVEN_ARRAY = np.array(GIVEN_CHARS)


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` Chinese full names (surname + one or two given-name characters), as a str array."""
    surname = _SURNAME_ARRAY[rng.choice(len(_SURNAME_ARRAY), size=n, p=_SURNAME_P)]
    first = _GIVEN_ARRAY[rng.integers(0, len(_GIVEN_ARRAY), size=n)]
    second = _GIVEN_ARRAY[rng.integers(0, len(_GIVEN_ARRAY), size=n)]
    # About a quarter of people born since the 1980s have single-character given names.
    two_chars = rng.random(n) < 0.75
    return np.char.add(np.char.add(surname, first), np.where(two_chars, second, ""))


def person_name(rnd: random.Random) -> str:
    """One Chinese full name drawn with the same distribution as `person_names`."""
    surname = rnd.choices([s for s, _ in SURNAMES], weights=[w for _, w in SURNAMES])[0]
    given = rnd.choice(GIVEN_CHARS)
    if rnd.random() < 0.75:
        given += rnd.choice(GIVEN_CHARS)
    return surname + given


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct 11-digit mainland mobile numbers (int64), in random order.

    Draws a few more than needed and drops repeats, keeping the first occurrence, so the
    result depends only on the generator's state and `n`.
    """
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)
    result = np.empty(0, dtype=np.int64)
    extra = 64 + n // 100
    while len(result) < n:
        want = n - len(result) + extra
        numbers = prefixes[rng.integers(0, len(prefixes), size=want)] * 100_000_000
        numbers += rng.integers(0, 100_000_000, size=want, dtype=np.int64)
        pool = np.concatenate([result, numbers])
        _, first = np.unique(pool, return_index=True)
        result = pool[np.sort(first)]
    return result[:n]


def e164(numbers: np.ndarray) -> np.ndarray:
    """E.164 strings (`+86` + the 11-digit national number) for int64 mobile numbers."""
    return np.char.add("+86", numbers.astype("U11"))


def phone_suffixes(numbers: np.ndarray) -> np.ndarray:
    """The last four digits of each number, zero-padded, as stored in `lead.phone_suffix`."""
    return np.char.zfill((numbers % 10_000).astype("U4"), 4)
