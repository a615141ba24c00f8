"""Report rewards (安全生产领域举报奖励办法, 2018; DOMAIN.md §3): pure rules, whole yuan.

- A verified hazard or violation report earns 15 % of the fine actually imposed, at least
  ¥3,000 and at most ¥300,000.  15 % of a fine with cents is rounded half up to the whole yuan
  (¥52,000.50 × 15 % = ¥7,800.075 → ¥7,800; ¥10.10 × 15 % = ¥1.515 → ¥2), before the minimum
  and the cap apply.  A fine of zero (the matter was handled without a fine) earns the minimum:
  the report was verified as true and the minimum is what the rule guarantees.  Without a
  decision there is no fine to compute from: ``RewardBaseMissing``.
- A concealed accident earns, per concealed death, an amount set by the finally confirmed level
  (一般 ¥30,000, 较大 ¥40,000, 重大 ¥50,000, 特别重大 ¥60,000), at most ¥300,000 in all.  No
  concealed death or no confirmed level: ``RewardBaseMissing``.

- A report may have both parts (a hazard that also revealed concealed deaths, or a concealed
  accident whose report also showed a hazard): each part is computed by its own rule above, and
  the sum is capped at ¥300,000 in all (``combine``).

Accident levels are ``portal.domain.accidents.AccidentLevel`` (1 一般 … 4 特别重大), the same
numbers the accident reports use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from portal.domain.accidents import AccidentLevel

# Hazard or violation: a share of the fine actually imposed, with a floor and a ceiling.
FINE_SHARE_PERCENT = 15
MINIMUM_REWARD_YUAN = 3_000
MAXIMUM_REWARD_YUAN = 300_000
# Concealed accident: per concealed death, by the finally confirmed level; the same ceiling.
PER_CONCEALED_DEATH_YUAN: dict[AccidentLevel, int] = {
    AccidentLevel.GENERAL: 30_000,
    AccidentLevel.LARGER: 40_000,
    AccidentLevel.MAJOR: 50_000,
    AccidentLevel.EXTRAORDINARY: 60_000,
}


class RewardBaseMissing(ValueError):
    """There is nothing to compute the reward from (no fine, no concealed death, no level);
    ``str()`` says what is missing, for the handler."""


@dataclass(frozen=True)
class RewardAmount:
    """A computed reward: whole yuan, and how it was computed (shown to staff, stored)."""

    amount_yuan: int
    basis: str


def yuan(amount: Decimal | int) -> str:
    """¥52,000 or ¥52,000.50: the cents only where there are any."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return f"¥{int(value):,}"
    return f"¥{value:,.2f}"


# The two parts a report can have, as the handler and the reporter read them.
HAZARD_PART = "隐患或违法行为"
CONCEALED_PART = "瞒报事故"


def fine_share(fine_yuan: Decimal | int | None) -> RewardAmount:
    """The reward for a verified hazard or violation report from the fine actually imposed."""
    if fine_yuan is None:
        raise RewardBaseMissing("尚无实际罚款金额：请先关联处罚决定。")
    fine = Decimal(fine_yuan)
    if not fine.is_finite() or fine < 0:
        raise ValueError("a fine must be a finite amount of zero or more")
    share = int((fine * FINE_SHARE_PERCENT / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    basis = f"罚款 {yuan(fine)} × {FINE_SHARE_PERCENT}% = {yuan(share)}"
    if share < MINIMUM_REWARD_YUAN:
        return RewardAmount(MINIMUM_REWARD_YUAN,
                            f"{basis}，低于最低奖励，按 {yuan(MINIMUM_REWARD_YUAN)}")
    if share > MAXIMUM_REWARD_YUAN:
        return RewardAmount(MAXIMUM_REWARD_YUAN,
                            f"{basis}，超过最高奖励，按 {yuan(MAXIMUM_REWARD_YUAN)}")
    return RewardAmount(share, basis)


def concealed_accident(deaths: int | None, level: AccidentLevel | int | None) -> RewardAmount:
    """The reward for a verified report of a concealed accident, by concealed deaths and the
    finally confirmed level."""
    if not deaths:
        raise RewardBaseMissing("瞒报事故奖励按瞒报死亡人数计算：请先登记核实的瞒报死亡人数。")
    if deaths < 0:
        raise ValueError("deaths cannot be negative")
    if level is None:
        raise RewardBaseMissing("请先登记最终认定的事故等级。")
    level = AccidentLevel(level)
    per_death = PER_CONCEALED_DEATH_YUAN[level]
    total = deaths * per_death
    basis = f"瞒报死亡 {deaths} 人 × {yuan(per_death)}（{level.label}）= {yuan(total)}"
    if total > MAXIMUM_REWARD_YUAN:
        return RewardAmount(MAXIMUM_REWARD_YUAN,
                            f"{basis}，超过最高奖励，按 {yuan(MAXIMUM_REWARD_YUAN)}")
    return RewardAmount(total, basis)


def combine(parts: list[tuple[str, RewardAmount]]) -> RewardAmount:
    """The reward for a report with several parts ``[(label, amount), ...]``: each part by its
    own rule, the sum at most ``MAXIMUM_REWARD_YUAN`` in all.  One part is returned as it is."""
    if not parts:
        raise ValueError("a reward needs at least one part")
    if len(parts) == 1:
        return parts[0][1]
    total = sum(amount.amount_yuan for _, amount in parts)
    basis = "；".join(f"{label}：{amount.basis}" for label, amount in parts)
    basis = f"{basis}；合计 {yuan(total)}"
    if total > MAXIMUM_REWARD_YUAN:
        return RewardAmount(MAXIMUM_REWARD_YUAN,
                            f"{basis}，超过最高奖励，按 {yuan(MAXIMUM_REWARD_YUAN)}")
    return RewardAmount(total, basis)
