"""The /credit name box finds listed persons (有关人员) by name (issue 17 §3): a person has no
credit code of their own, so the hit is their entry with their body's name and a link to the
body's credit page; the ID number never shows there (the entry page shows it masked); drafts
and withdrawn entries are not found."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from portal.extensions import db
from tests import factories

MASKED = "5328**************"


def _person(name: str, **fields):
    body = factories.enterprise(name="勐海某某茶叶加工有限公司")
    return factories.blacklist_entry(enterprise=body, subject_type="person", person_name=name,
                                     person_role="主要负责人", person_id_masked=MASKED, **fields)


@time_machine.travel("2026-11-25 10:00 +0800", tick=False)
def test_a_listed_person_is_found_by_name_with_the_body(app):
    with app.app_context():
        entry = _person("岩罕龙")
        draft = _person("岩罕龙二", published=False)
        gone = _person("岩罕龙三")
        gone.withdrawn_at = datetime(2026, 4, 1, tzinfo=UTC)
        gone.withdrawal_reason = "登记有误"
        db.session.commit()
        entry_id, uscc, draft_id, gone_id = entry.id, entry.uscc, draft.id, gone.id
    page = app.test_client().get("/credit?name=岩罕").get_data(as_text=True)
    # No enterprise matched: the person comes first, not below the empty enterprise list.
    assert page.index('id="person-hits-title"') < page.index('id="hits-title"')
    section = page.split('id="person-hits-title"')[1].split("</section>")[0]
    assert f"/blacklist/{entry_id}" in section and "岩罕龙（主要负责人）" in section
    assert "勐海某某茶叶加工有限公司" in section and f"/credit?code={uscc}" in section
    assert f"/blacklist/{draft_id}" not in page and f"/blacklist/{gone_id}" not in page
    assert MASKED not in page and "*****" not in page
    # Full-width spaces and letters are normalised as for enterprises.
    spaced = app.test_client().get("/credit?name=岩　罕龙").get_data(as_text=True)
    assert f"/blacklist/{entry_id}" in spaced


def test_no_person_section_without_a_match_and_short_names_refused(app):
    with app.app_context():
        _person("玉香")
        db.session.commit()
    page = app.test_client().get("/credit?name=不存在的人").get_data(as_text=True)
    assert 'id="person-hits-title"' not in page
    short = app.test_client().get("/credit?name=玉")
    assert short.status_code == 400 and 'id="person-hits-title"' not in short.get_data(as_text=True)
    assert 'id="person-hits-title"' in app.test_client().get("/credit?name=玉香").get_data(as_text=True)
    # An enterprise matched too: enterprises first, then the persons.
    both = app.test_client().get("/credit?name=勐海某某").get_data(as_text=True)
    assert 'id="person-hits-title"' not in both  # the person's name does not contain it
    with app.app_context():
        _person("勐海某某")
        db.session.commit()
    both = app.test_client().get("/credit?name=勐海某某").get_data(as_text=True)
    assert both.index('id="hits-title"') < both.index('id="person-hits-title"')
