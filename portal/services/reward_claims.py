"""Reward claims, the reporter's side, and the claim slip the counter checks.

Once a reward is approved the reporter, who holds only the receipt code, claims it before
``claim_due`` (approval + ``reward_claim_days``, the last day moved off a rest day) in one of two ways:

- by transfer: payment details, encrypted (``claim_by_transfer``);
- in person: a claim slip, a short code signed through ``portal.tokens`` and carrying the
  reward's id and a random nonce (``issue_claim_slip``).  Staff check it at the counter with
  ``check_claim_slip``.  A new slip, or erasing one's details, replaces the nonce, so an older
  slip stops working; a slip is valid until ``claim_due``.

"Expired" is derived, not stored: approved, unclaimed, and past ``claim_due``.
"""

from __future__ import annotations

import secrets
from datetime import date

from flask import current_app

from portal import tokens
from portal.domain.workdays import MAX_REST_DAYS_IN_A_ROW
from portal.extensions import db
from portal.models import Report, Reward, local_today

SLIP_PURPOSE = "reward_claim_slip"
SLIP_NONCE_BYTES = 8
PAYMENT_DETAILS_MAX = 500
DAY_SECONDS = 24 * 60 * 60


class ClaimRefused(Exception):
    """The reward cannot be claimed this way now; ``str()`` is a message for the reporter."""


def is_expired(reward: Reward, today: date | None = None) -> bool:
    """Approved, never claimed, and the claim period is over."""
    today = today or local_today()
    return reward.status == "approved" and reward.claim_due is not None and today > reward.claim_due


def is_claimable(reward: Reward, today: date | None = None) -> bool:
    """Approved and within the claim period: the reporter may claim it now."""
    today = today or local_today()
    return reward.status == "approved" and reward.claim_due is not None and today <= reward.claim_due


def can_renew_slip(reward: Reward, today: date | None = None) -> bool:
    """A reporter who chose to collect in person may ask for a new slip (voiding the old)."""
    today = today or local_today()
    return (reward.status == "claimed" and reward.claim_method == "in_person"
            and reward.claim_due is not None and today <= reward.claim_due)


def claim_by_transfer(reward: Reward, payment_details: str, *, today: date | None = None) -> None:
    """Claim an approved reward by bank transfer; the details are stored encrypted."""
    today = today or local_today()
    if not is_claimable(reward, today):
        raise ClaimRefused("此奖励当前不能申领。")
    details = (payment_details or "").replace("\x00", "").strip()
    if not details:
        raise ClaimRefused("请填写收款信息。")
    if len(details) > PAYMENT_DETAILS_MAX:
        raise ClaimRefused(f"收款信息最多 {PAYMENT_DETAILS_MAX} 个字。")
    reward.status = "claimed"
    reward.claim_method = "transfer"
    reward.claimed_on = today
    reward.payment_details = details
    reward.slip_nonce = None
    reward.report.add_event("reward_claimed", today, note="申领方式：银行转账")
    db.session.commit()


def issue_claim_slip(reward: Reward, *, today: date | None = None) -> str:
    """Claim an approved reward in person: a signed slip to show at the counter.

    Also renews the slip of a reward already claimed in person (the old slip stops working).
    Returns the slip (valid until ``reward.claim_due``)."""
    today = today or local_today()
    renewing = can_renew_slip(reward, today)
    if not (is_claimable(reward, today) or renewing):
        raise ClaimRefused("此奖励当前不能申领。")
    nonce = secrets.token_hex(SLIP_NONCE_BYTES)
    reward.status = "claimed"
    reward.claim_method = "in_person"
    reward.claimed_on = reward.claimed_on if renewing else today
    reward.payment_details = None
    reward.slip_nonce = nonce
    if not renewing:
        reward.report.add_event("reward_claimed", today, note="申领方式：凭领奖凭证现场领取")
    db.session.commit()
    return tokens.sign(SLIP_PURPOSE, {"r": reward.id, "n": nonce})


def check_claim_slip(slip: str, *, today: date | None = None) -> Reward:
    """The reward a claim slip stands for, if it may be paid out now.

    Raises ``portal.tokens.TokenExpired`` after ``claim_due`` and ``TokenInvalid`` for a slip
    not signed by this portal, replaced by a newer one or voided by erasure, or one whose reward
    is not (or no longer) claimed in person — including one already paid."""
    today = today or local_today()
    settings = current_app.config["SETTINGS"]
    # The signature's own age bound: a slip can be no older than the claim period allows, its
    # last day moved off rest days (民法典 Art. 203); ``claim_due`` below is the exact bound.
    max_age = (settings.reward_claim_days + MAX_REST_DAYS_IN_A_ROW + 1) * DAY_SECONDS
    payload = tokens.unsign(SLIP_PURPOSE, slip, max_age_seconds=max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        raise tokens.TokenInvalid("invalid")
    reward = db.session.get(Reward, payload["r"])
    nonce = payload.get("n")
    if (reward is None or not isinstance(nonce, str) or not reward.slip_nonce
            or not secrets.compare_digest(reward.slip_nonce, nonce)
            or reward.status != "claimed" or reward.claim_method != "in_person"):
        raise tokens.TokenInvalid("invalid")
    if reward.claim_due is None or today > reward.claim_due:
        raise tokens.TokenExpired("expired")
    return reward


def erase_personal_details(report: Report) -> None:
    """The reporter erases their contact and payment details (any time, also after payment).

    A claim that is not yet paid loses its details or slip with them; it goes back to
    "approved", so the reporter can claim again while the claim period lasts."""
    report.contact = None
    reward = report.reward
    if reward is not None:
        reward.payment_details = None
        if reward.status != "paid":
            reward.slip_nonce = None
            if reward.status == "claimed":
                reward.status = "approved"
                reward.claim_method = None
                reward.claimed_on = None
    db.session.commit()
