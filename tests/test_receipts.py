"""Receipt codes: format, parsing, the check part, the digest and the fixed answer time."""

from __future__ import annotations

import re
import time

import pytest

from portal import receipts

SECRET = "s" * 48
OTHER_SECRET = "t" * 48


def test_format_groups_of_four_from_crockford_base32():
    code = receipts.grouped(receipts.new_code(SECRET))
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}", code)
    # 24 random characters of 5 bits each: at least 100 random bits as DESIGN §3 asks.
    assert receipts.RANDOM_CHARS * 5 >= 100
    assert receipts.CHECK_CHARS * 5 == 20


def test_codes_differ():
    assert len({receipts.new_code(SECRET) for _ in range(200)}) == 200


def test_round_trip():
    code = receipts.new_code(SECRET)
    assert receipts.parse(receipts.grouped(code), SECRET) == code


@pytest.mark.parametrize("mangle", [
    str.lower,
    lambda c: c.replace("-", ""),
    lambda c: c.replace("-", " "),
    lambda c: "  " + c.lower().replace("-", " - ") + " ",
    lambda c: "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in c),  # full width
])
def test_case_spaces_hyphens_and_full_width_do_not_matter(mangle):
    code = receipts.new_code(SECRET)
    assert receipts.parse(mangle(receipts.grouped(code)), SECRET) == code


def test_confusables_are_read_as_digits():
    while True:
        code = receipts.new_code(SECRET)
        if "1" in code and "0" in code:
            break
    typed = code.replace("1", "l", 1).replace("0", "O", 1)
    assert receipts.parse(typed, SECRET) == code
    assert receipts.parse(code.replace("1", "I"), SECRET) == code


def test_every_single_mistyped_character_is_refused():
    code = receipts.new_code(SECRET)
    refused = 0
    for position in range(receipts.CODE_CHARS):
        for ch in receipts.ALPHABET:
            if ch == code[position]:
                continue
            typo = code[:position] + ch + code[position + 1:]
            try:
                receipts.parse(typo, SECRET)
            except receipts.ReceiptCodeInvalid:
                refused += 1
    # 28 positions × 31 other characters; a 20-bit check lets about one in a million through.
    assert refused >= 28 * 31 - 1


def test_swapped_neighbours_are_refused():
    code = receipts.new_code(SECRET)
    i = next(i for i in range(len(code) - 1) if code[i] != code[i + 1])
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    with pytest.raises(receipts.ReceiptCodeInvalid):
        receipts.parse(swapped, SECRET)


@pytest.mark.parametrize("raw", ["", "ABCD", "0" * 27, "0" * 29, "U" * 28, "ÄBCD" * 7, "-" * 200])
def test_wrong_length_or_characters_refused(raw):
    with pytest.raises(receipts.ReceiptCodeInvalid):
        receipts.parse(raw, SECRET)


def test_truncated_code_refused():
    code = receipts.grouped(receipts.new_code(SECRET))
    for cut in (1, 4, 5):
        with pytest.raises(receipts.ReceiptCodeInvalid):
            receipts.parse(code[:-cut], SECRET)


def test_forged_code_refused_and_check_keyed_by_secret():
    # A code made with another key (someone who knows the format but not the secret).
    forged = receipts.new_code(OTHER_SECRET)
    with pytest.raises(receipts.ReceiptCodeInvalid):
        receipts.parse(forged, SECRET)
    # And random made-up strings of the right shape are refused too.
    made_up = [receipts.new_code(OTHER_SECRET)[:24] + "0000" for _ in range(50)]
    assert sum(1 for c in made_up if _parses(c)) <= 1


def _parses(code: str) -> bool:
    try:
        receipts.parse(code, SECRET)
    except receipts.ReceiptCodeInvalid:
        return False
    return True


def test_digest_is_stable_site_wide_and_keyed():
    code = receipts.new_code(SECRET)
    first = receipts.digest(code, SECRET)
    assert first == receipts.digest(code, SECRET)  # one site-wide salt: the code finds its row
    assert len(first) == 64 and code not in first
    assert receipts.digest(code, OTHER_SECRET) != first  # the salt is secret with the key
    assert receipts.digest(receipts.new_code(SECRET), SECRET) != first


@pytest.fixture
def argon2_calls(monkeypatch) -> list[dict]:
    """The parameters of every Argon2id hash ``receipts`` computes (the hash still runs)."""
    calls: list[dict] = []
    real = receipts.hash_secret_raw

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(receipts, "hash_secret_raw", counting)
    return calls


@pytest.mark.parametrize("typed", ["not a code", "X" * 28, "", "0" * 28])
def test_candidate_digests_hash_once_even_for_a_refused_code(argon2_calls, typed):
    """A refused code costs the same work as an accepted one: exactly one Argon2id hash
    (the time it takes is printed by bench/timings.py, not asserted here)."""
    assert receipts.candidate_digests(typed, [SECRET]) == []
    assert len(argon2_calls) == 1
    argon2_calls.clear()
    code = receipts.grouped(receipts.new_code(SECRET))
    assert receipts.candidate_digests(code, [SECRET]) == [
        receipts.digest(receipts.parse(code, SECRET), SECRET)]
    assert len(argon2_calls) == 2  # the candidate's hash, then the expected value's above


def test_a_code_is_hashed_with_the_documented_argon2id_parameters(argon2_calls):
    """t=2, m=19 MiB, p=1 (OWASP's first recommended setting): about 20 ms on one core, far
    below the submission budget (bench/timings.py prints the figure on this machine)."""
    from argon2.low_level import Type

    code = receipts.new_code(SECRET)
    receipts.digest(code, SECRET)
    (call,) = argon2_calls
    assert (call["time_cost"], call["memory_cost"], call["parallelism"], call["type"]) == (
        2, 19 * 1024, 1, Type.ID)
    assert call["hash_len"] == 32 and call["salt"] == receipts.site_salt(SECRET)
    assert call["secret"] == code.encode("ascii")


def test_minimum_duration_pads():
    start = time.monotonic()
    with receipts.MinimumDuration(0.2):
        pass
    assert time.monotonic() - start >= 0.2


def test_answer_slots_one_caller_waits_in_line_and_the_next_is_busy_at_once():
    """With every slot taken, one caller waits for the next free slot (a padded answer ends
    within its fixed time), and a caller arriving while it waits is refused at once: a place
    in line holds a thread as well, so the line is one long."""
    import threading

    slots = receipts.AnswerSlots(1)
    assert slots.try_take()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.try_take(wait=30)))
    waiter.start()
    deadline = time.monotonic() + 30
    while slots._line.acquire(blocking=False):  # until the waiter holds the place in line
        slots._line.release()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert slots.try_take(wait=30) is False  # refused without waiting for the 30 s
    assert got == []
    slots.give_back()
    waiter.join(timeout=30)
    assert got == [True] and slots.taken == 1
    slots.give_back()
    assert slots.taken == 0


def test_answer_slots_a_caller_in_line_gives_up_after_its_wait():
    slots = receipts.AnswerSlots(1)
    assert slots.try_take()
    assert slots.try_take(wait=0.05) is False  # nothing freed the slot meanwhile
    assert slots.try_take() is False  # without a wait: busy at once, as before
    slots.give_back()
    assert slots.try_take(wait=0.05) is True  # the line is free again, and so is the slot
