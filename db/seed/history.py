"""The child tables of the opportunity plan: stage history, follow-ups, flow events and
orders. Every time used here comes from the plan, so the rows agree with the opportunity
columns (stage_changed_at, first/last/next follow-up, assigned_at, closed_at, amount)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from crm_core.models import FOLLOW_UP_CHANNELS, INTENTION_LEVELS, POOL_STATES
from db.seed.activity import CLOSED, DORMANT, OWNED, PUBLIC, UNASSIGNED, OpportunityPlan
from db.seed.bulk import NO_TIME, chunk_bounds, sql_codes, sql_ids, sql_ints, sql_times
from db.seed.company import LINES, PRODUCTS, Company
from db.seed.leads import DAY
from db.seed.paths import (
    LOST,
    STAGES,
    TEMPLATE_LENGTH,
    TEMPLATE_STAGES,
    TRIAL_DONE,
    WON,
    group_starts,
)

STAGE_HISTORY_COLUMNS = (
    "id",
    "opportunity_id",
    "from_stage",
    "to_stage",
    "changed_at",
    "actor_id",
)
FOLLOW_UP_COLUMNS = (
    "id",
    "opportunity_id",
    "author_id",
    "channel",
    "content",
    "result",
    "intention_level",
    "next_follow_up_at",
    "call_duration_s",
    "recording_url",
    "created_at",
)
FLOW_EVENT_COLUMNS = (
    "id",
    "opportunity_id",
    "at",
    "from_owner_id",
    "to_owner_id",
    "from_state",
    "to_state",
    "reason",
    "actor_id",
    "note",
)
ORDER_COLUMNS = (
    "id",
    "opportunity_id",
    "product_id",
    "list_price",
    "amount",
    "status",
    "payment_ref",
    "paid_at",
    "refunded_at",
    "created_by_id",
    "attributed_owner_id",
    "attributed_unit_id",
    "attributed_org_path",
    "created_at",
    "course_ends_at",
)


def _course_days() -> np.ndarray:
    """Course days by [line index, product index], in the order `build_company` creates
    the lines and products."""
    table = np.zeros((len(LINES), max(len(p) for p in PRODUCTS.values())), dtype=np.int64)
    for b, (code, *_) in enumerate(LINES):
        table[b, : len(PRODUCTS[code])] = [days for *_, days in PRODUCTS[code]]
    return table


COURSE_DAYS = _course_days()

CHANNEL_SHARES = (0.55, 0.25, 0.08, 0.02, 0.10)  # call, wechat, sms, visit, note
# result code -> (channel, share within the channel, content snippets)
RESULTS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "connected": (
        "call",
        0.60,
        (
            "沟通了备考时间安排，学员对课程感兴趣",
            "介绍了课程体系和师资，约了下次详聊",
            "学员询问价格和优惠，已说明分期方案",
            "了解学员基础和目标院校，推荐全程班",
            "学员表示需要和家人商量",
            "确认了试听时间，已发试听链接",
            "试听后反馈良好，讨论报名细节",
            "学员在对比其他机构，强调了通过率和服务",
            "学员工作较忙，约周末再沟通",
        ),
    ),
    "no_answer": ("call", 0.30, ("电话未接通", "无人接听，稍后再拨", "关机")),
    "busy": ("call", 0.07, ("占线，稍后回拨",)),
    "hung_up": ("call", 0.03, ("接通后挂断", "学员表示在开会，挂断")),
    "replied": (
        "wechat",
        0.7,
        (
            "微信发送课程资料，学员已查看",
            "微信沟通学习计划",
            "发送试听链接，学员回复收到",
            "学员微信询问上课时间",
            "发送优惠活动海报，学员表示会考虑",
        ),
    ),
    "no_reply": ("wechat", 0.3, ("已添加微信，暂未回复", "发送资料后未回复")),
    "sent": ("sms", 1.0, ("短信发送试听提醒", "短信通知直播课时间", "发送课程优惠短信")),
    "visited": ("visit", 1.0, ("学员到校区面谈，参观了教室", "线下讲座后面谈学习规划")),
    "noted": (
        "note",
        1.0,
        (
            "学员在职，晚上8点后方便联系",
            "学员基础较弱，需要从零开始",
            "已拉入备考交流群",
            "家长陪同咨询，预算有限",
            "学员去年考过一次，差几分",
        ),
    ),
}
RESULT_CODES = tuple(RESULTS)
CONTENT = np.array([c for _, _, pool in RESULTS.values() for c in pool], dtype=object)
CONTENT_START = group_starts(np.array([len(pool) for _, _, pool in RESULTS.values()]))
CONTENT_COUNT = np.array([len(pool) for _, _, pool in RESULTS.values()])
RECYCLE_NOTES = (
    "no first follow-up within 24 hours",
    "no follow-up for 7 days",
    "no stage progress for 14 days",
)
REFUND_SHARE = 0.03
PENDING_SHARE = 0.15  # of owned trial_done opportunities


def _ids(company: Company) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([r.id for r in company.reps], dtype=np.int64),
        np.array([t.id for t in company.teams], dtype=np.int64),
    )


def stage_history_rows(
    plan: OpportunityPlan, company: Company, first_id: int
) -> Iterator[list[tuple]]:
    """Entering `new` at creation (by the intake, so no actor), then each stage change by
    the (last) owner, in path order."""
    rep_ids, _ = _ids(company)
    entries = TEMPLATE_LENGTH[plan.template]
    opp = np.repeat(np.arange(plan.n), entries)
    position = np.arange(len(opp)) - group_starts(entries)[opp]
    path = TEMPLATE_STAGES[plan.template[opp]]
    to_stage = path[np.arange(len(opp)), position]
    from_stage = np.where(position > 0, path[np.arange(len(opp)), np.maximum(position - 1, 0)], -1)
    actor = np.where(position > 0, plan.rep[opp], -1)
    for lo, hi in chunk_bounds(len(opp)):
        s = slice(lo, hi)
        yield list(
            zip(
                range(first_id + lo, first_id + hi),
                (opp[s] + plan.first_id).tolist(),
                sql_codes(from_stage[s], STAGES),
                sql_codes(to_stage[s], STAGES),
                sql_times(plan.hist_at[s]),
                sql_ids(actor[s], rep_ids),
                strict=True,
            )
        )


def follow_up_rows(
    rng: np.random.Generator, plan: OpportunityPlan, company: Company, first_id: int
) -> Iterator[list[tuple]]:
    """The logged contacts, by the (last) owner, at the planned times."""
    rep_ids, _ = _ids(company)
    opp = np.repeat(np.arange(plan.n), plan.fu_count)
    total = len(opp)
    last = np.zeros(total, dtype=bool)
    last[(group_starts(plan.fu_count) + plan.fu_count - 1)[plan.fu_count > 0]] = True
    channel = rng.choice(len(FOLLOW_UP_CHANNELS), size=total, p=CHANNEL_SHARES)
    result = np.empty(total, dtype=np.int64)
    for c, code in enumerate(FOLLOW_UP_CHANNELS):
        options = [i for i, (ch, _, _) in enumerate(RESULTS.values()) if ch == code]
        shares = np.array([RESULTS[RESULT_CODES[i]][1] for i in options])
        rows = np.flatnonzero(channel == c)
        result[rows] = np.array(options)[rng.choice(len(options), size=len(rows), p=shares)]
    content = CONTENT[
        CONTENT_START[result] + rng.integers(0, 1 << 30, size=total) % CONTENT_COUNT[result]
    ]
    final_stage = plan.stage[opp]
    content[last & (final_stage == WON)] = "学员已付款，开通课程权限"
    content[last & (final_stage == LOST)] = "学员明确表示暂不报名，关闭商机"
    connected = result == RESULT_CODES.index("connected")
    duration = np.where(
        channel == 0,
        np.where(connected, np.clip(rng.lognormal(np.log(240), 0.8, size=total), 20, 3600), 0),
        -1,
    ).astype(np.int64)
    intention = np.where(last, plan.intention[opp], -1)
    # Each contact plans the next one; the last plans the opportunity's next follow-up.
    following = np.where(last, plan.next_fu[opp], np.roll(plan.fu_at, -1))
    for lo, hi in chunk_bounds(total):
        s = slice(lo, hi)
        ids = range(first_id + lo, first_id + hi)
        yield list(
            zip(
                ids,
                (opp[s] + plan.first_id).tolist(),
                rep_ids[plan.rep[opp[s]]].tolist(),
                sql_codes(channel[s], FOLLOW_UP_CHANNELS),
                content[s].tolist(),
                sql_codes(result[s], RESULT_CODES),
                sql_codes(intention[s], INTENTION_LEVELS),
                sql_times(following[s]),
                sql_ints(duration[s], null_below=0),
                [
                    f"https://rec.demo-callcenter.cn/r/{i}.mp3" if c else None
                    for i, c in zip(ids, connected[s].tolist(), strict=True)
                ],
                sql_times(plan.fu_at[s]),
                strict=True,
            )
        )


def flow_event_rows(
    rng: np.random.Generator, plan: OpportunityPlan, company: Company, first_id: int
) -> Iterator[list[tuple]]:
    """Dispatch, then recycle/claim pairs before the current owner, then the final recycle
    (public, dormant) or the close (won, lost). Owners alternate between the last owner
    and one other rep of the team, so no rep claims back what was just taken from them."""
    rep_ids, _ = _ids(company)
    state, cycles = plan.state, plan.cycles
    final = (state == PUBLIC) | (state == DORMANT) | (state == CLOSED)
    count = np.where(state == UNASSIGNED, 0, 1 + 2 * cycles + final)
    opp = np.repeat(np.arange(plan.n), count)
    pos = np.arange(len(opp)) - group_starts(count)[opp]
    c, st = cycles[opp], state[opp]
    dispatch, is_final = pos == 0, pos == 2 * c + 1
    recycle = ((pos % 2 == 1) & ~is_final) | (is_final & (st != CLOSED))
    claim = (pos > 0) & (pos % 2 == 0) & ~is_final
    close = is_final & (st == CLOSED)

    # Owner j (1-based) of an opportunity is the last owner when c + 1 - j is even.
    def owner(j: np.ndarray) -> np.ndarray:
        return np.where((c + 1 - j) % 2 == 0, plan.rep[opp], plan.other_rep[opp])

    before = owner((pos + 1) // 2)  # the owner losing it at a recycle (pos = 2j - 1)
    after = owner(pos // 2 + 1)  # the owner getting it at dispatch/claim (pos = 2j)
    from_owner = np.select([recycle, close], [before, plan.rep[opp]], -1)
    to_owner = np.select([dispatch | claim, close], [after, plan.rep[opp]], -1)
    from_state = np.select([dispatch, claim], [UNASSIGNED, PUBLIC], OWNED)
    to_state = np.select(
        [dispatch | claim, close, is_final & (st == DORMANT)], [OWNED, CLOSED, DORMANT], PUBLIC
    )
    reason = np.select(
        [dispatch, recycle, claim, plan.stage[opp] == WON], [0, 1, 2, 3], 4
    )  # dispatch, recycle, claim, won, lost
    start, dispatched = plan.start[opp], plan.dispatched[opp]
    step = (start - dispatched) * pos // np.maximum(2 * c, 1)
    at = np.select(
        [is_final & (st == CLOSED), is_final],
        [plan.closed_at[opp], plan.recycled_at[opp]],
        dispatched + step,
    )
    actor = np.select([claim, close], [after, plan.rep[opp]], -1)
    note = np.where(recycle, rng.integers(0, len(RECYCLE_NOTES), size=len(opp)), -1)
    reasons = ("dispatch", "recycle", "claim", "won", "lost")
    for lo, hi in chunk_bounds(len(opp)):
        s = slice(lo, hi)
        yield list(
            zip(
                range(first_id + lo, first_id + hi),
                (opp[s] + plan.first_id).tolist(),
                sql_times(at[s]),
                sql_ids(from_owner[s], rep_ids),
                sql_ids(to_owner[s], rep_ids),
                sql_codes(from_state[s], POOL_STATES),
                sql_codes(to_state[s], POOL_STATES),
                sql_codes(reason[s], reasons),
                sql_ids(actor[s], rep_ids),
                sql_codes(note[s], RECYCLE_NOTES),
                strict=True,
            )
        )


@dataclass
class OrderPlan:
    """Per-order arrays; order k gets id `first_id + k` and belongs to opportunity `opp[k]`."""

    opp: np.ndarray
    product: np.ndarray  # index into the line's products
    list_price: np.ndarray
    amount: np.ndarray
    status: np.ndarray  # index into ORDER_STATUS
    created: np.ndarray
    paid_at: np.ndarray
    refunded_at: np.ndarray


ORDER_STATUS = ("pending", "paid", "refunded")


def plan_orders(
    rng: np.random.Generator, plan: OpportunityPlan, company: Company, now: int
) -> OrderPlan:
    """A paid order per won opportunity (~3% refunded later) and a pending one on some
    owned trial_done ones. Sets `plan.amount` of won opportunities to their order amount."""
    n = plan.n
    won = plan.stage == WON
    pending = (plan.state == OWNED) & (plan.stage == TRIAL_DONE) & (rng.random(n) < PENDING_SHARE)
    opp = np.flatnonzero(won | pending)
    line = plan.line[opp]
    product = np.empty(len(opp), dtype=np.int64)
    price = np.empty(len(opp), dtype=np.int64)
    for b, items in company.products.items():
        prices = np.array([p for _, p in items])
        weight = prices.astype(float) ** -0.7  # cheaper courses sell more often
        rows = np.flatnonzero(line == b)
        product[rows] = rng.choice(len(items), size=len(rows), p=weight / weight.sum())
        price[rows] = prices[product[rows]]
    # Advisers may discount up to 10%; amounts round down to ten yuan.
    amount = (price * (1 - 0.10 * rng.random(len(opp))) // 10 * 10).astype(np.int64)
    is_won = won[opp]
    paid_at = np.where(is_won, plan.closed_at[opp], NO_TIME)
    refundable = is_won & (paid_at < now - 3 * DAY)
    refunded = refundable & (rng.random(len(opp)) < REFUND_SHARE)
    window = np.minimum(14 * DAY, now - paid_at)
    refunded_at = np.where(
        refunded, paid_at + DAY + (rng.random(len(opp)) * (window - DAY)).astype(np.int64), NO_TIME
    )
    since = np.where(
        is_won, np.maximum(plan.start[opp], paid_at - rng.integers(60, 3 * 3600, size=len(opp))), 0
    )
    pending_at = plan.stage_changed[opp] + (
        rng.random(len(opp)) * (now - plan.stage_changed[opp])
    ).astype(np.int64)
    plan.amount[opp[is_won]] = amount[is_won]
    return OrderPlan(
        opp=opp,
        product=product,
        list_price=price,
        amount=amount,
        status=np.select([refunded, is_won], [2, 1], 0),
        created=np.where(is_won, since, pending_at),
        paid_at=paid_at,
        refunded_at=refunded_at,
    )


def order_rows(
    orders: OrderPlan, plan: OpportunityPlan, company: Company, first_id: int
) -> Iterator[list[tuple]]:
    """The `sales_order` rows; paid ones freeze the owner, team and team path, and end
    their course the product's course days after the payment."""
    rep_ids, team_ids = _ids(company)
    paths = np.array([t.path for t in company.teams] + [None], dtype=object)
    product_ids = {b: np.array([pid for pid, _ in items]) for b, items in company.products.items()}
    for lo, hi in chunk_bounds(len(orders.opp)):
        s = slice(lo, hi)
        opp = orders.opp[s]
        paid = orders.status[s] > 0
        owner = plan.rep[opp]
        team = np.where(paid, plan.team[opp], -1)
        paid_at = orders.paid_at[s]
        days = COURSE_DAYS[plan.line[opp], orders.product[s]]
        ends = np.where(paid_at >= 0, paid_at + days * DAY, NO_TIME)
        ids = range(first_id + lo, first_id + hi)
        yield list(
            zip(
                ids,
                (opp + plan.first_id).tolist(),
                [
                    int(product_ids[b][p])
                    for b, p in zip(
                        plan.line[opp].tolist(), orders.product[s].tolist(), strict=True
                    )
                ],
                [f"{p}.00" for p in orders.list_price[s].tolist()],
                [f"{a}.00" for a in orders.amount[s].tolist()],
                sql_codes(orders.status[s], ORDER_STATUS),
                [
                    f"PAY{t[:10].replace('-', '')}{i:08d}" if t else None
                    for t, i in zip(sql_times(orders.paid_at[s]), ids, strict=True)
                ],
                sql_times(orders.paid_at[s]),
                sql_times(orders.refunded_at[s]),
                sql_ids(owner, rep_ids),
                sql_ids(np.where(paid, owner, -1), rep_ids),
                sql_ids(team, team_ids),
                paths[team].tolist(),
                sql_times(orders.created[s]),
                sql_times(ends),
                strict=True,
            )
        )
