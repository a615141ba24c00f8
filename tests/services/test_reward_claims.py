"""Reward claims by the reporter and the claim slip checked at the counter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from portal import tokens
from portal.domain.workdays import MAX_REST_DAYS_IN_A_ROW
from portal.extensions import db
from portal.models import Reward, local_today
from portal.services.reporting import reports, reward_claims
from tests.reports.conftest import REPORT_FIELDS


def _reward(status="approved", due_in_days=60) -> Reward:
    report, _ = reports.submit(REPORT_FIELDS | {"contact": "电话 1"})
    report.reward = Reward(amount_yuan=5000, status=status, proposed_on=local_today(),
                           claim_due=local_today() + timedelta(days=due_in_days))
    db.session.commit()
    return report.reward


def test_transfer_claim(app_ctx):
    reward = _reward()
    reward_claims.claim_by_transfer(reward, "银行 账号")
    assert (reward.status, reward.claim_method, reward.claimed_on) == ("claimed", "transfer", local_today())
    assert reward.report.events[-1].kind == "reward_claimed"
    with pytest.raises(reward_claims.ClaimRefused):
        reward_claims.claim_by_transfer(reward, "again")


@pytest.mark.parametrize("status,due", [("proposed", 60), ("rejected", 60), ("paid", 60),
                                        ("approved", -1)])
def test_not_claimable(app_ctx, status, due):
    reward = _reward(status, due)
    with pytest.raises(reward_claims.ClaimRefused):
        reward_claims.claim_by_transfer(reward, "x")
    with pytest.raises(reward_claims.ClaimRefused):
        reward_claims.issue_claim_slip(reward)


def test_expiry_is_derived_at_the_boundary(app_ctx):
    reward = _reward(due_in_days=0)
    assert reward_claims.is_claimable(reward) and not reward_claims.is_expired(reward)
    tomorrow = local_today() + timedelta(days=1)
    assert reward_claims.is_expired(reward, tomorrow) and not reward_claims.is_claimable(reward, tomorrow)


def test_slip_round_trip_and_renewal(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    assert reward.status == "claimed" and reward.claim_method == "in_person"
    assert reward_claims.check_claim_slip(slip).id == reward.id
    renewed = reward_claims.issue_claim_slip(reward)
    assert [e.kind for e in reward.report.events].count("reward_claimed") == 1
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(slip)
    assert reward_claims.check_claim_slip(renewed).id == reward.id


def test_slip_refused_when_paid_forged_or_altered(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    for bad in ("", "abc", slip[:-2] + ("AA" if slip[-2:] != "AA" else "BB"),
                tokens.sign("credit_certificate", {"r": reward.id, "n": reward.slip_nonce})):
        with pytest.raises(tokens.TokenInvalid):
            reward_claims.check_claim_slip(bad)
    reward.status, reward.paid_on = "paid", local_today()
    db.session.commit()
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(slip)


def test_slip_of_a_transfer_claim_refused(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    reward.claim_method = "transfer"
    db.session.commit()
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(slip)


def test_slip_expires_with_claim_due(app_ctx):
    reward = _reward(due_in_days=10)
    slip = reward_claims.issue_claim_slip(reward)
    assert reward_claims.check_claim_slip(slip, today=reward.claim_due).id == reward.id
    with pytest.raises(tokens.TokenExpired):
        reward_claims.check_claim_slip(slip, today=reward.claim_due + timedelta(days=1))
    # The signature's age bound holds as well (clock moved past any claim period: its days and
    # the longest move of its last day off rest days).
    days = app_ctx.config["SETTINGS"].reward_claim_days + MAX_REST_DAYS_IN_A_ROW
    with time_machine.travel(local_today() + timedelta(days=days + 3)):
        with pytest.raises(tokens.TokenExpired):
            reward_claims.check_claim_slip(slip)


def test_a_slip_is_good_until_a_claim_due_moved_past_the_spring_festival(app_ctx):
    # Approved 2025-12-17: 60 days end Sunday 2026-02-15, in the Spring Festival holiday
    # (02-15..02-23), so the claim is due Tuesday 02-24 — 69 days after the slip was issued.
    with time_machine.travel(datetime(2025, 12, 17, 2, tzinfo=UTC), tick=False):
        reward = _reward()
        reward.claim_due = date(2026, 2, 24)
        db.session.commit()
        slip = reward_claims.issue_claim_slip(reward)
    with time_machine.travel(datetime(2026, 2, 24, 2, tzinfo=UTC), tick=False):
        assert reward_claims.check_claim_slip(slip).id == reward.id
    with time_machine.travel(datetime(2026, 2, 25, 2, tzinfo=UTC), tick=False):
        with pytest.raises(tokens.TokenExpired):
            reward_claims.check_claim_slip(slip)


def test_erasure_voids_slip_and_unpaid_claim(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    reward_claims.erase_personal_details(reward.report)
    assert reward.report.contact is None and reward.slip_nonce is None
    assert reward.status == "approved" and reward.claim_method is None
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(slip)


def test_erasure_after_payment_keeps_the_payment(app_ctx):
    reward = _reward()
    reward_claims.claim_by_transfer(reward, "账号")
    reward.status, reward.paid_on = "paid", local_today()
    db.session.commit()
    reward_claims.erase_personal_details(reward.report)
    assert reward.status == "paid" and reward.payment_details is None


# --- a slip people can copy by hand (issue 13 §3, issue 14 §7) ---------------------------------

SHORT_SLIP = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){4}$")


def test_the_slip_is_short_plain_and_carries_no_time(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    # 5 groups of 4 from Crockford's base32: no I, L, O or U, no lower case, no punctuation.
    assert SHORT_SLIP.match(slip), slip
    # Nothing in it but random characters and a check: no signing time to the second.
    with pytest.raises(tokens.TokenInvalid):
        tokens.unsign(reward_claims.SLIP_PURPOSE, slip, max_age_seconds=10**9)
    # Only a keyed hash is stored: the database alone does not hold the slip.
    stored = reward.slip_nonce
    assert stored and reward_claims.receipts.normalize(slip) not in stored and slip not in stored


@pytest.mark.parametrize("typed", [
    lambda s: s.lower(),
    lambda s: s.replace("-", ""),
    lambda s: s.replace("-", " "),
    lambda s: " " + s.lower().replace("-", "  ") + " ",
    lambda s: s.replace("1", "l").replace("0", "o"),  # Crockford: l → 1, o → 0
])
def test_the_slip_is_checked_whatever_its_case_spaces_and_hyphens(app_ctx, typed):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    assert reward_claims.check_claim_slip(typed(slip)).id == reward.id


def test_a_well_formed_slip_that_was_never_issued_is_refused(app_ctx):
    reward = _reward()
    slip = reward_claims.issue_claim_slip(reward)
    other, _ = reward_claims._new_slip()  # right check part, never stored
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(other)
    one_typo = slip[:-1] + ("0" if slip[-1] != "0" else "1")
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(one_typo)


def test_a_signed_slip_issued_before_the_short_form_still_works_until_renewed(app_ctx):
    reward = _reward()
    reward_claims.issue_claim_slip(reward)
    reward.slip_nonce = "0123456789abcdef"  # a slip issued by the previous version
    db.session.commit()
    old = tokens.sign(reward_claims.SLIP_PURPOSE, {"r": reward.id, "n": "0123456789abcdef"})
    assert reward_claims.check_claim_slip(old).id == reward.id
    reward_claims.issue_claim_slip(reward)
    with pytest.raises(tokens.TokenInvalid):
        reward_claims.check_claim_slip(old)
