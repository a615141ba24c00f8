"""Reward claims, the reporter's side, and the claim slip the counter checks.

Once a reward is approved the reporter, who holds only the receipt code, claims it before
``claim_due`` (approval + ``reward_claim_days``, the last day moved off a rest day) in one of two ways:

- by transfer: payment details, encrypted (``claim_by_transfer``);
- in person: a claim slip (``issue_claim_slip``), a short code written like the receipt code
  so that it can be copied by hand and read out at the counter: 16 random characters (80 bits)
  and 4 check characters from Crockford's base32, in 5 groups of 4 (``7KQ2-XM9D-…``); case,
  spaces and hyphens do not matter.  It carries no time: the slip shows its issue date and the
  claim deadline, nothing finer.  Only a keyed hash of the code is stored (in
  ``Reward.slip_nonce``), so the database alone cannot make a slip; staff check it at the
  counter with ``check_claim_slip``, which finds the reward by that hash.  A new slip, or
  erasing one's details, replaces the hash, so an older slip stops working; a slip is valid
  until ``claim_due``.  Slips issued before the short form (signed with ``portal.tokens``,
  their stored nonce 16 hex characters) are still checked the old way until renewed.

"Expired" is derived, not stored: approved, unclaimed, and past ``claim_due``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

from flask import current_app
from sqlalchemy import select

from portal import receipts, tokens
from portal.domain.workdays import MAX_REST_DAYS_IN_A_ROW
from portal.extensions import db
from portal.models import Report, Reward, local_today
from portal.translation import lazy_gettext as _l

SLIP_PURPOSE = "reward_claim_slip"  # the signed slips issued before the short form
SLIP_NONCE_BYTES = 8
SLIP_RANDOM_CHARS = 16  # 80 random bits: a slip is only checked by staff, one at a time
SLIP_CHECK_CHARS = 4  # 20 bits: a mistyped slip is told apart from a wrong one
SLIP_CHARS = SLIP_RANDOM_CHARS + SLIP_CHECK_CHARS
SLIP_DIGEST_HEX = 32  # fits ``Reward.slip_nonce``
_SLIP_CHECK_LABEL = "reward-claim-slip.check.v1"
_SLIP_DIGEST_LABEL = "reward-claim-slip.digest.v1"
PAYMENT_DETAILS_MAX = 500
DAY_SECONDS = 24 * 60 * 60


class ClaimRefused(Exception):
    """The reward cannot be claimed this way now; ``str()`` is a message for the reporter."""


def _secret_keys() -> list[str]:
    """The current secret key first, then those kept while it is rotated."""
    return [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]


def _keyed(key: str, label: str, data: str) -> bytes:
    return hmac.new(f"{label}:{key}".encode(), data.encode("ascii"), hashlib.sha256).digest()


def _slip_check(key: str, random_part: str) -> str:
    value = int.from_bytes(_keyed(key, _SLIP_CHECK_LABEL, random_part)[:4], "big")
    value >>= 32 - 5 * SLIP_CHECK_CHARS
    return "".join(receipts.ALPHABET[(value >> (5 * (SLIP_CHECK_CHARS - 1 - i))) & 31]
                   for i in range(SLIP_CHECK_CHARS))


def slip_digest(code: str, key: str) -> str:
    """The keyed hash a canonical slip code is stored under."""
    return _keyed(key, _SLIP_DIGEST_LABEL, code).hex()[:SLIP_DIGEST_HEX]


def parse_slip(raw: str) -> tuple[str, str] | None:
    """(canonical code, the secret key it was made with) for a short slip, else None.

    Case, spaces, hyphens and full-width forms do not matter; I, L and O read as 1, 1 and 0."""
    code = receipts.normalize(raw or "")
    if len(code) != SLIP_CHARS or any(ch not in receipts.ALPHABET for ch in code):
        return None
    random_part, check = code[:SLIP_RANDOM_CHARS], code[SLIP_RANDOM_CHARS:]
    for key in _secret_keys():
        if hmac.compare_digest(_slip_check(key, random_part), check):
            return code, key
    return None


def format_slip(code: str) -> str:
    """A canonical slip code in groups of 4, as shown and printed."""
    return receipts.grouped(receipts.normalize(code))


def _new_slip() -> tuple[str, str]:
    """A fresh slip: (code in groups, digest to store)."""
    key = _secret_keys()[0]
    random_part = "".join(secrets.choice(receipts.ALPHABET) for _ in range(SLIP_RANDOM_CHARS))
    code = random_part + _slip_check(key, random_part)
    return receipts.grouped(code), slip_digest(code, key)


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
        raise ClaimRefused(_l("此奖励当前不能申领。"))
    details = (payment_details or "").replace("\x00", "").strip()
    if not details:
        raise ClaimRefused(_l("请填写收款信息。"))
    if len(details) > PAYMENT_DETAILS_MAX:
        raise ClaimRefused(_l("收款信息最多 %(max)s 字。", max=PAYMENT_DETAILS_MAX))
    reward.status = "claimed"
    reward.claim_method = "transfer"
    reward.claimed_on = today
    reward.payment_details = details
    reward.slip_nonce = None
    reward.report.add_event("reward_claimed", today, note="申领方式：银行转账")
    db.session.commit()


def issue_claim_slip(reward: Reward, *, today: date | None = None) -> str:
    """Claim an approved reward in person: a slip to show at the counter.

    Also renews the slip of a reward already claimed in person (the old slip stops working).
    Returns the slip code in groups of 4 (valid until ``reward.claim_due``); only its keyed
    hash is stored."""
    today = today or local_today()
    renewing = can_renew_slip(reward, today)
    if not (is_claimable(reward, today) or renewing):
        raise ClaimRefused(_l("此奖励当前不能申领。"))
    code, digest = _new_slip()
    reward.status = "claimed"
    reward.claim_method = "in_person"
    reward.claimed_on = reward.claimed_on if renewing else today
    reward.payment_details = None
    reward.slip_nonce = digest
    if not renewing:
        reward.report.add_event("reward_claimed", today, note="申领方式：凭领奖凭证现场领取")
    db.session.commit()
    return code


def slip_of(reward: Reward, raw: str) -> str | None:
    """The slip in ``raw``, in groups, if it is the current slip of ``reward`` (for the
    reporter's download and print); None otherwise."""
    parsed = parse_slip(raw)
    if parsed is None or not reward.slip_nonce or reward.claim_method != "in_person":
        return None
    code, key = parsed
    if not hmac.compare_digest(slip_digest(code, key), reward.slip_nonce):
        return None
    return receipts.grouped(code)


def check_claim_slip(slip: str, *, today: date | None = None) -> Reward:
    """The reward a claim slip stands for, if it may be paid out now.

    Raises ``portal.tokens.TokenExpired`` after ``claim_due`` and ``TokenInvalid`` for a slip
    not signed by this portal, replaced by a newer one or voided by erasure, or one whose reward
    is not (or no longer) claimed in person — including one already paid."""
    today = today or local_today()
    parsed = parse_slip(slip)
    if parsed is not None:
        code, key = parsed
        reward = db.session.scalar(
            select(Reward).where(Reward.slip_nonce == slip_digest(code, key)))
    else:
        reward = _legacy_slip_reward(slip)
    if (reward is None or reward.status != "claimed" or reward.claim_method != "in_person"):
        raise tokens.TokenInvalid("invalid")
    if reward.claim_due is None or today > reward.claim_due:
        raise tokens.TokenExpired("expired")
    return reward


def _legacy_slip_reward(slip: str) -> Reward | None:
    """The reward of a signed slip issued before the short form, if it is still its slip."""
    settings = current_app.config["SETTINGS"]
    # The signature's own age bound: a slip can be no older than the claim period allows, its
    # last day moved off rest days (民法典 Art. 203); ``claim_due`` below is the exact bound.
    max_age = (settings.reward_claim_days + MAX_REST_DAYS_IN_A_ROW + 1) * DAY_SECONDS
    payload = tokens.unsign(SLIP_PURPOSE, slip, max_age_seconds=max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return None
    reward = db.session.get(Reward, payload["r"])
    nonce = payload.get("n")
    if (reward is None or not isinstance(nonce, str) or not reward.slip_nonce
            or not secrets.compare_digest(reward.slip_nonce, nonce)):
        return None
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
