"""Accident levels (生产安全事故报告和调查处理条例 Art. 3)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class AccidentLevel(enum.IntEnum):
    GENERAL = 1  # 一般
    LARGER = 2  # 较大
    MAJOR = 3  # 重大
    EXTRAORDINARY = 4  # 特别重大

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def investigated_by(self) -> str:
        return INVESTIGATED_BY[self]


LEVEL_LABELS = {
    AccidentLevel.GENERAL: "一般事故",
    AccidentLevel.LARGER: "较大事故",
    AccidentLevel.MAJOR: "重大事故",
    AccidentLevel.EXTRAORDINARY: "特别重大事故",
}
INVESTIGATED_BY = {
    AccidentLevel.GENERAL: "县级人民政府",
    AccidentLevel.LARGER: "设区的市级人民政府",
    AccidentLevel.MAJOR: "省级人民政府",
    AccidentLevel.EXTRAORDINARY: "国务院",
}


@dataclass(frozen=True)
class Threshold:
    """The lowest figures ("以上" includes the boundary) that reach a level."""

    level: AccidentLevel
    deaths: int
    serious_injuries: int
    direct_loss_yuan: Decimal


# Highest first: the highest level reached on any one measure decides.
THRESHOLDS = (
    Threshold(AccidentLevel.EXTRAORDINARY, 30, 100, Decimal(100_000_000)),
    Threshold(AccidentLevel.MAJOR, 10, 50, Decimal(50_000_000)),
    Threshold(AccidentLevel.LARGER, 3, 10, Decimal(10_000_000)),
)


def classify(*, deaths: int, serious_injuries: int, direct_loss_yuan: Decimal | int) -> AccidentLevel:
    """Return the level reached by the worst of the three measures."""
    if deaths < 0 or serious_injuries < 0 or direct_loss_yuan < 0:
        raise ValueError("casualties and loss cannot be negative")
    loss = Decimal(direct_loss_yuan)
    for t in THRESHOLDS:
        if deaths >= t.deaths or serious_injuries >= t.serious_injuries or loss >= t.direct_loss_yuan:
            return t.level
    return AccidentLevel.GENERAL
