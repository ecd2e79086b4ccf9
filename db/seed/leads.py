"""Lead cards: who they are, where they came from (channel, campaign, landing page, keyword)
and when. Every column is generated for all leads at once with numpy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from crm_core.platform.bootstrap import DEFAULT_CHANNELS
from crm_core.platform.search_keys import name_key
from db.seed.bulk import chunk_bounds, sql_ids, sql_times
from db.seed.company import LINES
from db.seed.names import e164, mobile_numbers, person_names, phone_suffixes

DAY = 86_400
HISTORY_DAYS = 90
# Beijing is UTC+8; lead arrival follows Beijing office and evening hours.
BEIJING_OFFSET = 8 * 3600
HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 4, 6, 7, 7, 5, 5, 6, 6, 6, 5, 5, 6, 8, 8, 6, 3]
)
LINE_SHARE = np.array([0.40, 0.32, 0.28])  # kaoyan, jiaozi, english

# channel code -> (share of leads, campaign platforms or () for no campaign, has landing
# page, has search keyword). Paid search and feed ads bring most leads.
CHANNELS: dict[str, tuple[float, tuple[str, ...], bool, bool]] = {
    "sem": (0.27, ("百度", "百度", "百度", "360", "搜狗"), True, True),
    "feed": (0.23, ("抖音", "腾讯广点通", "小红书", "快手"), True, False),
    "form": (0.10, ("官网表单", "公众号表单"), True, False),
    "chat": (0.09, ("官网咨询", "APP咨询"), True, False),
    "seo": (0.08, (), True, True),
    "content": (0.08, ("公众号", "知乎", "B站", "小红书"), True, False),
    "event": (0.06, ("直播公开课", "线下讲座"), True, False),
    "referral": (0.05, (), False, False),
    "import": (0.04, ("合作名单", "展会名单"), False, False),
}
assert set(CHANNELS) <= set(DEFAULT_CHANNELS)
CHANNEL_CODES = tuple(CHANNELS)

KEYWORDS = {
    "kaoyan": (
        "考研报名时间",
        "考研英语一",
        "考研数学辅导",
        "考研政治押题",
        "在职考研",
        "考研分数线",
        "考研培训班哪家好",
        "考研择校",
        "跨专业考研",
        "MBA提前面试",
    ),
    "jiaozi": (
        "教师资格证报考条件",
        "教资面试",
        "教资笔试科目",
        "幼师资格证",
        "小学教资",
        "中学教资数学",
        "教资成绩查询",
        "教师编制考试",
    ),
    "english": (
        "商务英语培训",
        "职场英语口语",
        "雅思培训",
        "BEC报名",
        "英语口语在线",
        "外企英语面试",
        "成人英语零基础",
        "托业考试",
    ),
}

# (province, city, sales region index: 0 Beijing, 1 Shanghai, 2 Wuhan, weight)
CITIES: tuple[tuple[str, str, int, float], ...] = (
    ("北京", "北京", 0, 12),
    ("天津", "天津", 0, 3),
    ("河北", "石家庄", 0, 4),
    ("山东", "济南", 0, 4),
    ("山东", "青岛", 0, 3),
    ("山西", "太原", 0, 2),
    ("辽宁", "沈阳", 0, 3),
    ("黑龙江", "哈尔滨", 0, 2),
    ("上海", "上海", 1, 9),
    ("江苏", "南京", 1, 5),
    ("江苏", "苏州", 1, 3),
    ("浙江", "杭州", 1, 5),
    ("安徽", "合肥", 1, 3),
    ("福建", "福州", 1, 2),
    ("广东", "广州", 1, 5),
    ("广东", "深圳", 1, 5),
    ("湖北", "武汉", 2, 8),
    ("湖南", "长沙", 2, 4),
    ("河南", "郑州", 2, 5),
    ("四川", "成都", 2, 5),
    ("重庆", "重庆", 2, 3),
    ("陕西", "西安", 2, 4),
    ("江西", "南昌", 2, 2),
    ("广西", "南宁", 2, 2),
)
UNKNOWN_CITY_SHARE = 0.03
EMAIL_HANDLES = (
    "sunny",
    "lucky",
    "xiaoyu",
    "tiantian",
    "happy",
    "kevin",
    "amy",
    "leo",
    "momo",
    "coco",
    "dragon",
    "star",
    "lily",
    "jack",
    "yoyo",
    "summer",
)
EMAIL_DOMAINS = ("163.com", "126.com", "foxmail.com", "sina.com", "outlook.com")

LEAD_COLUMNS = (
    "id",
    "name",
    "name_key",
    "phone",
    "phone_suffix",
    "no_phone",
    "email",
    "wechat",
    "region",
    "city",
    "channel",
    "campaign",
    "landing_page",
    "keyword",
    "created_by_id",
    "created_at",
)


@dataclass
class LeadPlan:
    """Every lead column as an array; row i gets id `first_id + i` (ids follow time)."""

    first_id: int
    created: np.ndarray  # epoch seconds, ascending
    line: np.ndarray  # business line of interest (index into LINES)
    sales_region: np.ndarray  # region whose teams should work it (index into REGIONS)
    name: np.ndarray
    phone: np.ndarray  # int64 national numbers
    channel: np.ndarray
    campaign: np.ndarray  # object: str or None
    landing_page: np.ndarray
    keyword: np.ndarray
    city: np.ndarray  # index into CITIES, -1 unknown
    email: np.ndarray
    wechat: np.ndarray
    created_by: np.ndarray  # index into the marketing user ids, -1 for none

    @property
    def n(self) -> int:
        return len(self.created)


def arrival_times(rng: np.random.Generator, n: int, now: int) -> np.ndarray:
    """`n` sorted lead arrival times over the last 90 days; recent days get more leads
    (the business is growing) and Beijing daytime and evening hours get most."""
    uniform = rng.random(n) < 0.45
    u = rng.random(n)
    # Density falling linearly with age: more recent, more leads.
    age_days = np.where(uniform, u, 1 - np.sqrt(1 - u)) * HISTORY_DAYS
    local_day = (now - (age_days * DAY).astype(np.int64) + BEIJING_OFFSET) // DAY
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    at = local_day * DAY - BEIJING_OFFSET + hour * 3600 + rng.integers(0, 3600, size=n)
    # Nothing arrives in the last ten minutes, so every lead has had time to be dispatched.
    latest = now - 600
    at = np.where(at > latest, at - DAY, at)
    # Shift (rather than clip) the few that the hour draw pushed outside the window, so no
    # two leads share a boundary timestamp.
    at = np.where(at < now - HISTORY_DAYS * DAY, at + DAY, at)
    return np.sort(np.minimum(at, latest))


def plan_leads(
    rng: np.random.Generator, n: int, now: int, first_id: int, marketing_users: int
) -> LeadPlan:
    """Generate `n` leads' columns."""
    created = arrival_times(rng, n, now)
    line = rng.choice(len(LINES), size=n, p=LINE_SHARE)
    shares = np.array([c[0] for c in CHANNELS.values()])
    channel = rng.choice(len(CHANNELS), size=n, p=shares / shares.sum())

    city_w = np.array([c[3] for c in CITIES])
    city = rng.choice(len(CITIES), size=n, p=city_w / city_w.sum())
    city = np.where(rng.random(n) < UNKNOWN_CITY_SHARE, -1, city)
    region_of_city = np.array([c[2] for c in CITIES])
    sales_region = np.where(city >= 0, region_of_city[city], rng.integers(0, 3, size=n))

    campaign, landing, keyword = _marketing_columns(rng, created, line, channel)
    phone = mobile_numbers(rng, n)
    is_import = channel == CHANNEL_CODES.index("import")
    created_by = np.where(is_import, rng.integers(0, max(1, marketing_users), size=n), -1)
    return LeadPlan(
        first_id=first_id,
        created=created,
        line=line,
        sales_region=sales_region,
        name=person_names(rng, n),
        phone=phone,
        channel=channel,
        campaign=campaign,
        landing_page=landing,
        keyword=keyword,
        city=city,
        email=_emails(rng, n),
        wechat=_wechats(rng, phone),
        created_by=created_by,
    )


def _marketing_columns(
    rng: np.random.Generator, created: np.ndarray, line: np.ndarray, channel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Campaign (`2026Q4-考研-百度`), landing page URL and search keyword per lead."""
    n = len(created)
    day = created.astype("datetime64[s]").astype("datetime64[D]")
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970
    quarter = (day.astype("datetime64[M]").astype(np.int64) % 12) // 3 + 1
    platform = rng.integers(0, 5, size=n)  # reduced modulo each channel's platform count
    page = rng.integers(1, 13, size=n)
    # Few distinct combinations: build each string once and look the rest up.
    key = (((year * 4 + quarter) * 3 + line) * len(CHANNELS) + channel) * 5 + platform
    keys, inverse = np.unique(key, return_inverse=True)
    campaigns, landings = [], []
    for k in keys.tolist():
        k, plat = divmod(k, 5)
        k, ch = divmod(k, len(CHANNELS))
        k, b = divmod(k, 3)
        yr, q = divmod(k, 4)
        code = CHANNEL_CODES[ch]
        _, platforms, has_landing, _ = CHANNELS[code]
        campaigns.append(
            f"{yr}Q{q}-{LINES[b][3]}-{platforms[plat % len(platforms)]}" if platforms else None
        )
        landings.append(f"https://m.demo-edu.cn/{LINES[b][0]}/{code}/lp" if has_landing else None)
    campaign = np.array(campaigns, dtype=object)[inverse]
    landing = np.array(landings, dtype=object)[inverse]
    has_page = landing != None  # noqa: E711  (element-wise on an object array)
    landing[has_page] = landing[has_page] + page[has_page].astype(str).astype(object)

    keyword = np.full(n, None, dtype=object)
    searched = np.isin(channel, [CHANNEL_CODES.index("sem"), CHANNEL_CODES.index("seo")])
    for b, (line_code, *_) in enumerate(LINES):
        rows = searched & (line == b)
        words = np.array(KEYWORDS[line_code], dtype=object)
        keyword[rows] = words[rng.integers(0, len(words), size=int(rows.sum()))]
    return campaign, landing, keyword


def _emails(rng: np.random.Generator, n: int) -> np.ndarray:
    """About 7% of leads leave an email; QQ mail is the most common."""
    out = np.full(n, None, dtype=object)
    rows = np.flatnonzero(rng.random(n) < 0.07)
    qq = rng.random(len(rows)) < 0.6
    numbers = rng.integers(100_000, 3_000_000_000, size=len(rows))
    handle = rng.integers(0, len(EMAIL_HANDLES), size=len(rows))
    domain = rng.integers(0, len(EMAIL_DOMAINS), size=len(rows))
    out[rows] = [
        f"{num}@qq.com" if is_qq else f"{EMAIL_HANDLES[h]}{num % 10_000}@{EMAIL_DOMAINS[d]}"
        for is_qq, num, h, d in zip(qq.tolist(), numbers.tolist(), handle, domain, strict=True)
    ]
    return out


def _wechats(rng: np.random.Generator, phone: np.ndarray) -> np.ndarray:
    """About 20% leave a WeChat id: often the phone number itself, else a handle."""
    n = len(phone)
    out = np.full(n, None, dtype=object)
    rows = np.flatnonzero(rng.random(n) < 0.2)
    same_as_phone = rng.random(len(rows)) < 0.5
    handle = rng.integers(0, len(EMAIL_HANDLES), size=len(rows))
    number = rng.integers(100, 100_000, size=len(rows))
    out[rows] = [
        str(p) if same else f"{EMAIL_HANDLES[h]}_{num}"
        for same, p, h, num in zip(
            same_as_phone.tolist(), phone[rows].tolist(), handle, number, strict=True
        )
    ]
    return out


def lead_rows(plan: LeadPlan, marketing_user_ids: list[int]) -> Iterator[list[tuple]]:
    """The `lead` rows in chunks, columns as in LEAD_COLUMNS."""
    provinces = np.array([c[0] for c in CITIES] + [None], dtype=object)
    cities = np.array([c[1] for c in CITIES] + [None], dtype=object)
    channels = np.array(CHANNEL_CODES, dtype=object)
    marketing = np.array(marketing_user_ids or [0], dtype=np.int64)
    for start, stop in chunk_bounds(plan.n):
        s = slice(start, stop)
        phone = plan.phone[s]
        city = plan.city[s]
        yield list(
            zip(
                range(plan.first_id + start, plan.first_id + stop),
                plan.name[s].tolist(),
                [name_key(n) for n in plan.name[s].tolist()],
                e164(phone).tolist(),
                phone_suffixes(phone).tolist(),
                [0] * (stop - start),
                plan.email[s].tolist(),
                plan.wechat[s].tolist(),
                provinces[city].tolist(),
                cities[city].tolist(),
                channels[plan.channel[s]].tolist(),
                plan.campaign[s].tolist(),
                plan.landing_page[s].tolist(),
                plan.keyword[s].tolist(),
                sql_ids(plan.created_by[s], marketing),
                sql_times(plan.created[s]),
                strict=True,
            )
        )
