"""Reward rules (安全生产领域举报奖励办法) at every boundary."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain.accidents import AccidentLevel
from portal.domain.rewards import (
    MAXIMUM_REWARD_YUAN,
    MINIMUM_REWARD_YUAN,
    RewardBaseMissing,
    combine,
    concealed_accident,
    fine_share,
)


def test_the_basis_reads_as_the_computation():
    reward = fine_share(Decimal("52000"))
    assert reward.amount_yuan == 7_800
    assert reward.basis == "罚款 ¥52,000 × 15% = ¥7,800"


@pytest.mark.parametrize(
    ("fine", "amount"),
    [
        (0, MINIMUM_REWARD_YUAN),  # handled without a fine: the minimum
        (1, MINIMUM_REWARD_YUAN),
        (19_999, MINIMUM_REWARD_YUAN),  # 2,999.85 → 3,000 (rounded) but below: minimum anyway
        (19_990, MINIMUM_REWARD_YUAN),  # 2,998.50 → 2,999 < 3,000
        (20_000, 3_000),  # exactly the minimum from 15 %
        (20_010, 3_002),  # 3,001.50 rounds half up
        (20_006, 3_001),  # 3,000.90
        (100_000, 15_000),
        (1_999_999, 300_000),  # 299,999.85 → 300,000
        (1_999_990, 299_999),  # 299,998.50 rounds half up to 299,999
        (2_000_000, 300_000),  # exactly the cap
        (2_000_010, MAXIMUM_REWARD_YUAN),  # above the cap
        (50_000_000, MAXIMUM_REWARD_YUAN),
    ],
)
def test_fifteen_percent_with_minimum_and_cap(fine, amount):
    assert fine_share(Decimal(fine)).amount_yuan == amount


def test_cents_are_rounded_half_up_to_whole_yuan():
    assert fine_share(Decimal("52000.50")).amount_yuan == 7_800  # 7,800.075
    assert fine_share(Decimal("52003.34")).amount_yuan == 7_801  # 7,800.501
    assert fine_share(Decimal("52003.30")).amount_yuan == 7_800  # 7,800.495
    assert fine_share(Decimal("52000.50")).basis == "罚款 ¥52,000.50 × 15% = ¥7,800"


def test_minimum_and_cap_say_so_in_the_basis():
    assert fine_share(Decimal(10_000)).basis == "罚款 ¥10,000 × 15% = ¥1,500，低于最低奖励，按 ¥3,000"
    assert fine_share(Decimal(3_000_000)).basis == (
        "罚款 ¥3,000,000 × 15% = ¥450,000，超过最高奖励，按 ¥300,000"
    )


def test_no_decision_means_no_base():
    with pytest.raises(RewardBaseMissing, match="处罚决定"):
        fine_share(None)


@pytest.mark.parametrize("bad", [Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_impossible_fines_are_programming_errors(bad):
    with pytest.raises(ValueError):
        fine_share(bad)


@pytest.mark.parametrize(
    ("level", "per_death"),
    [
        (AccidentLevel.GENERAL, 30_000),
        (AccidentLevel.LARGER, 40_000),
        (AccidentLevel.MAJOR, 50_000),
        (AccidentLevel.EXTRAORDINARY, 60_000),
    ],
)
@pytest.mark.parametrize("deaths", [1, 2, 3, 4, 5, 6, 10, 30])
def test_concealed_deaths_by_level_with_cap(level, per_death, deaths):
    reward = concealed_accident(deaths, level)
    assert reward.amount_yuan == min(deaths * per_death, MAXIMUM_REWARD_YUAN)
    assert level.label in reward.basis


def test_concealed_accident_cap_boundaries():
    assert concealed_accident(10, AccidentLevel.GENERAL).amount_yuan == 300_000  # exactly
    assert concealed_accident(5, AccidentLevel.EXTRAORDINARY).amount_yuan == 300_000  # exactly
    assert "超过" not in concealed_accident(5, AccidentLevel.EXTRAORDINARY).basis
    capped = concealed_accident(6, AccidentLevel.MAJOR)  # 300,000 exactly
    assert capped.amount_yuan == 300_000
    over = concealed_accident(7, AccidentLevel.MAJOR)  # 350,000
    assert over.amount_yuan == 300_000
    assert over.basis == "瞒报死亡 7 人 × ¥50,000（重大事故）= ¥350,000，超过最高奖励，按 ¥300,000"
    assert concealed_accident(2, 2).basis == "瞒报死亡 2 人 × ¥40,000（较大事故）= ¥80,000"


@pytest.mark.parametrize(("deaths", "level"), [(0, AccidentLevel.GENERAL), (None, 1), (2, None)])
def test_concealed_accident_without_deaths_or_level_has_no_base(deaths, level):
    with pytest.raises(RewardBaseMissing):
        concealed_accident(deaths, level)


# ---------------------------------------------------------------- a report with both parts
# Amounts computed by hand: 15 % of the fine (at least ¥3,000, at most ¥300,000) plus, per
# concealed death, ¥30,000 / 40,000 / 50,000 / 60,000 by level (at most ¥300,000); ¥300,000 in all.


@pytest.mark.parametrize(("fine", "deaths", "level", "amount"), [
    (52_000, 2, AccidentLevel.LARGER, 87_800),  # 7,800 + 80,000
    (10_000, 1, AccidentLevel.GENERAL, 33_000),  # 1,500 → minimum 3,000; + 30,000
    (0, 3, AccidentLevel.MAJOR, 153_000),  # a fine of 0: minimum 3,000; + 150,000
    (1_800_000, 4, AccidentLevel.GENERAL, 300_000),  # 270,000 + 120,000 = 390,000 → cap
    (100_000, 5, AccidentLevel.EXTRAORDINARY, 300_000),  # 15,000 + 300,000 (capped) → cap
    (1_333_333, 1, AccidentLevel.GENERAL, 230_000),  # 200,000 (199,999.95) + 30,000
])
def test_both_parts_each_by_its_rule_capped_in_all(fine, deaths, level, amount):
    parts = [("隐患或违法行为", fine_share(Decimal(fine))),
             ("瞒报事故", concealed_accident(deaths, level))]
    assert combine(parts).amount_yuan == amount


def test_the_basis_of_both_parts_shows_each_and_the_cap():
    reward = combine([("隐患或违法行为", fine_share(Decimal(100_000))),
                      ("瞒报事故", concealed_accident(5, AccidentLevel.EXTRAORDINARY))])
    assert reward.basis == (
        "隐患或违法行为：罚款 ¥100,000 × 15% = ¥15,000；"
        "瞒报事故：瞒报死亡 5 人 × ¥60,000（特别重大事故）= ¥300,000；"
        "合计 ¥315,000，超过最高奖励，按 ¥300,000"
    )
    assert len(reward.basis) <= 200  # fits the column


def test_one_part_is_its_own_reward_and_none_is_an_error():
    alone = fine_share(Decimal(52_000))
    assert combine([("隐患或违法行为", alone)]) == alone
    with pytest.raises(ValueError):
        combine([])
