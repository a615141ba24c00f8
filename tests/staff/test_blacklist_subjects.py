"""The whole blacklist (应急管理部令第11号 Art. 2): institutions and responsible persons beside
enterprises.  A person's ID number is stored masked only and never shown unmasked anywhere."""

from __future__ import annotations

import json

import time_machine

from portal.domain.blacklist import IdNumberInvalid, mask_id_number
from portal.extensions import db
from portal.models import BlacklistEntry
from portal.services.publication.importer import import_file
from tests.staff.test_publishing import (  # noqa: F401 - fixtures
    blacklist_data,
    clock,
    created_id,
    editor,  # noqa: F401 - the fixture
    get,
    post_action,
    post_form,
)

FULL_ID = "532801198001011230"
MASKED = "5328**************"
PERSON = blacklist_data(subject_type="person", person_name="岩罕龙", person_role="主要负责人",
                        person_id_masked=FULL_ID)


def test_id_numbers_are_masked_on_the_way_in():
    assert mask_id_number(FULL_ID) == MASKED
    assert mask_id_number("５３２８０１１９８００１０１１２３ｘ") == "5328**************"
    assert mask_id_number(MASKED) == MASKED  # an edit keeps the stored form
    for bad in ("12345", "53280119800101123A", ""):
        try:
            mask_id_number(bad)
        except IdNumberInvalid:
            continue
        raise AssertionError(bad)


def test_a_person_is_listed_found_and_never_shown_unmasked(app, editor, clock):  # noqa: F811
    body = created_id(post_form(editor, "/staff/blacklist/new", blacklist_data()))
    person = created_id(post_form(editor, "/staff/blacklist/new", PERSON))
    for item_id in (body, person):
        assert post_action(editor, f"/staff/blacklist/{item_id}/publish",
                           f"/staff/blacklist/{item_id}").status_code == 303
    stored = get(app, BlacklistEntry, person)
    assert stored.person_id_masked == MASKED and stored.subject_type == "person"
    with app.app_context():
        raw = db.session.execute(db.text("SELECT * FROM blacklist_entries")).all()
    assert FULL_ID not in repr(raw)
    public = app.test_client()
    from portal.cli import reindex  # noqa: F401 - the index is updated after commit
    pages = {
        path: public.get(path).get_data(as_text=True)
        for path in (f"/blacklist/{person}", "/blacklist", "/blacklist.csv", "/api/v1/blacklist",
                     f"/api/v1/blacklist/{person}", "/feeds/blacklist.atom",
                     f"/credit?code={stored.uscc}", "/search?q=岩罕龙", "/api/v1/search?q=岩罕龙",
                     f"/staff/blacklist/{person}")
    }
    pages["staff"] = editor.get(f"/staff/blacklist/{person}").get_data(as_text=True)
    for path, text in pages.items():
        assert FULL_ID not in text and "198001011230" not in text, path
    assert MASKED in pages[f"/blacklist/{person}"] and "有关人员" in pages[f"/blacklist/{person}"]
    assert f"/blacklist/{person}" in pages["/search?q=岩罕龙"]  # found by name
    credit = pages[f"/credit?code={stored.uscc}"]
    assert "本单位有关人员的失信名单记录" in credit and "岩罕龙" in credit  # by the body's code
    api = json.loads(pages["/api/v1/blacklist"])
    assert {row["subject_type"] for row in api["results"]} == {"enterprise", "person"}
    assert "subject_type" in pages["/blacklist.csv"].splitlines()[0] or \
        "主体类型" in pages["/blacklist.csv"].splitlines()[0]


def test_a_person_needs_name_role_and_a_valid_id(editor):  # noqa: F811
    response = post_form(editor, "/staff/blacklist/new",
                         blacklist_data(subject_type="person", person_id_masked="123"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请填写有关人员姓名" in html and "身份证号码应为 18 位" in html


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_import_accepts_subject_columns_and_masks_the_id(app, app_ctx, tmp_path):
    rows = [
        {"subject_type": "安全评价/认证/检测/检验机构", "enterprise_name": "西双版纳某安全评价有限公司",
         "uscc": "91350100M000100Y43", "grounds": "瞒报、谎报生产安全事故", "basis": "西应急失信〔2026〕9号",
         "listed_on": "2026-11-01", "department": "西双版纳州应急管理局"},
        {"subject_type": "person", "enterprise_name": "西双版纳某安全评价有限公司",
         "uscc": "91350100M000100Y43", "person_name": "玉香", "person_role": "安全评价师",
         "person_id_number": FULL_ID, "grounds": "瞒报、谎报生产安全事故",
         "basis": "西应急失信〔2026〕10号", "listed_on": "2026-11-01",
         "department": "西双版纳州应急管理局"},
    ]
    path = tmp_path / "blacklist.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = import_file("blacklist", path)
    assert result.created == 2
    entries = {e.subject_type: e for e in db.session.scalars(db.select(BlacklistEntry))}
    assert set(entries) == {"institution", "person"}
    assert entries["person"].person_id_masked == MASKED
    # Re-importing the same rows updates, it does not duplicate (the person is part of the key).
    assert import_file("blacklist", path).created == 0


def test_statistics_count_each_subject_type(app, app_ctx):
    from tests import factories

    factories.blacklist_entry()
    factories.blacklist_entry(subject_type="person", person_name="岩某", person_role="主要负责人",
                              person_id_masked=MASKED)
    db.session.commit()
    from portal.services.oversight.statistics import blacklist_by_subject, period

    table = blacklist_by_subject(period(None))
    counts = {label: values[0] for label, values in table.rows}
    assert counts["生产经营单位"] == 1 and counts["有关人员"] == 1
