"""Accident levels (国务院令第493号 Art. 3): "以上" includes the boundary, "以下" excludes it."""

from decimal import Decimal

import pytest

from portal.domain.accidents import AccidentLevel, classify

GENERAL, LARGER, MAJOR, EXTRA = (AccidentLevel.GENERAL, AccidentLevel.LARGER,
                                 AccidentLevel.MAJOR, AccidentLevel.EXTRAORDINARY)


def level(deaths=0, injuries=0, loss="0"):
    return classify(deaths=deaths, serious_injuries=injuries, direct_loss_yuan=Decimal(loss))


@pytest.mark.parametrize(("deaths", "expected"), [
    (0, GENERAL), (2, GENERAL), (3, LARGER), (9, LARGER), (10, MAJOR), (29, MAJOR), (30, EXTRA), (31, EXTRA),
])
def test_deaths_boundaries(deaths, expected):
    assert level(deaths=deaths) is expected


@pytest.mark.parametrize(("injuries", "expected"), [
    (9, GENERAL), (10, LARGER), (49, LARGER), (50, MAJOR), (99, MAJOR), (100, EXTRA),
])
def test_serious_injury_boundaries(injuries, expected):
    assert level(injuries=injuries) is expected


@pytest.mark.parametrize(("loss", "expected"), [
    ("9999999.99", GENERAL), ("10000000", LARGER), ("10000000.00", LARGER),
    ("49999999.99", LARGER), ("50000000", MAJOR), ("99999999.99", MAJOR), ("100000000", EXTRA),
])
def test_direct_loss_boundaries(loss, expected):
    assert level(loss=loss) is expected


@pytest.mark.parametrize(("deaths", "injuries", "loss", "expected"), [
    (2, 9, "9999999.99", GENERAL),  # just below on every measure
    (0, 10, "0", LARGER),  # one measure is enough
    (1, 50, "1000000", MAJOR),  # injuries decide, deaths alone would be 一般
    (3, 0, "60000000", MAJOR),  # loss decides over deaths
    (10, 100, "0", EXTRA),  # the highest measure decides
    (30, 0, "1", EXTRA),
])
def test_the_highest_measure_decides(deaths, injuries, loss, expected):
    assert level(deaths, injuries, loss) is expected


def test_integer_loss_is_accepted():
    assert classify(deaths=0, serious_injuries=0, direct_loss_yuan=10_000_000) is LARGER


@pytest.mark.parametrize("kwargs", [
    {"deaths": -1, "serious_injuries": 0, "direct_loss_yuan": 0},
    {"deaths": 0, "serious_injuries": -1, "direct_loss_yuan": 0},
    {"deaths": 0, "serious_injuries": 0, "direct_loss_yuan": Decimal("-0.01")},
])
def test_negative_figures_are_refused(kwargs):
    with pytest.raises(ValueError):
        classify(**kwargs)


def test_labels_and_who_investigates():
    assert [lv.label for lv in AccidentLevel] == ["一般事故", "较大事故", "重大事故", "特别重大事故"]
    assert MAJOR.investigated_by == "省级人民政府"
    assert EXTRA.investigated_by == "国务院"


def test_the_model_derives_the_level_on_save(db_session):
    from tests import factories

    item = factories.accident(deaths=2, serious_injuries=9, direct_loss_yuan=Decimal("10000000"))
    db_session.commit()
    assert item.accident_level is LARGER
    item.direct_loss_yuan = Decimal("9999999.99")
    db_session.commit()
    assert item.accident_level is GENERAL
