"""Every /staff/ URL × every method: anonymous and wrong-role clients get nothing; right roles do."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from werkzeug.routing import Rule

from portal import kinds as kind_registry
from portal.extensions import db
from portal.models import Report, ReportPhoto, Reward, SupervisionPhoto
from portal.staff.models import ADMIN, APPROVER, EDITOR, HANDLER, ROLES, StaffRoleGrant
from tests import factories
from tests.staff.conftest import csrf_token, login, make_staff

ALLOW_LIST = {"staff.login", "staff.enrol"}
SECRET_TITLE = "保密测试企业"


@pytest.fixture
def data(app: Flask) -> dict:
    """One item of each kind (a draft, so nothing of it is public) and a second account."""
    with app.app_context():
        ent = factories.enterprise(name=SECRET_TITLE + "有限公司")
        items = {
            "powers": factories.power(published=False, name=SECRET_TITLE + "职权"),
            "decisions": factories.decision(published=False, enterprise=ent,
                                            party_name=SECRET_TITLE),
            "accidents": factories.accident(published=False, enterprise=ent,
                                            title_text=SECRET_TITLE + "事故"),
            "blacklist": factories.blacklist_entry(published=False, enterprise=ent,
                                                   enterprise_name=SECRET_TITLE),
            "supervision": factories.supervision_item(published=False, enterprise=ent,
                                                      title_text=SECRET_TITLE),
        }
        # A report with a photo and a proposed reward: report content is for handlers and
        # approvers only.
        report = factories.report(enterprise_name=SECRET_TITLE + "举报对象",
                                  description=SECRET_TITLE + "举报内容")
        report.photos.append(ReportPhoto(media_type="image/png", width=1, height=1,
                                         data=SECRET_TITLE.encode()))
        report.reward = Reward(amount_yuan=3000, basis="测试", proposed_on=report.received_on)
        # A rectification photo on the 督办 draft (its own photo_id in /staff/supervision/ URLs).
        items["supervision"].photos.append(SupervisionPhoto(
            phase="before", caption=SECRET_TITLE, taken_on=date(2026, 9, 1),
            added_on=date(2026, 9, 1), media_type="image/png", width=1, height=1, size=1,
            data=SECRET_TITLE.encode(), thumbnail=SECRET_TITLE.encode(),
            thumbnail_media_type="image/png", thumbnail_width=1, thumbnail_height=1))
        db.session.commit()
        target = make_staff(EDITOR, username="target.account")
        grant = StaffRoleGrant(user_id=target.id, role=HANDLER)  # waits for an administrator
        db.session.add(grant)
        db.session.commit()
        # A 信用修复 application with its document, and an objection.
        from portal.services.enterprises import objections, repair
        from tests.credit.repair_helpers import listed, pdf_bytes

        entry = listed(listed_on=date(2025, 1, 10))
        document = repair.clean_document(repair.Upload(pdf_bytes(), "commitment"))
        application, _ = repair.submit(repair.save_draft(None, {
            "uscc": entry.uscc, "applicant_name": "甲", "applicant_role": "法定代表人",
            "contact": "1", "penalty_done": "已缴", "rectification": "已改"}, [document]))
        objection, _ = objections.submit(objections.save_draft(None, "blacklist", entry.id, {
            "applicant_name": "甲", "contact": "1", "what_is_wrong": "有误",
            "should_read": "应更正"}))
        return {"ids": {k: v.id for k, v in items.items()}, "user_id": target.id,
                "report_id": report.id, "photo_id": report.photos[0].id,
                "supervision_photo_id": items["supervision"].photos[0].id,
                "reward_id": report.reward.id, "grant_id": grant.id,
                "application_id": application.id, "document_id": application.documents[0].id,
                "objection_id": objection.id}


def staff_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/staff")),
        key=lambda r: r.rule,
    )


def urls_for(rule: Rule, data: dict) -> list[str]:
    """Concrete URLs for ``rule``: every kind for the kind converter, real ids for the rest."""
    kinds = list(kind_registry.KEYS) if "kind" in rule.arguments else [None]
    urls = []
    for kind in kinds:
        path = rule.rule
        if kind:
            path = path.replace(f"<{kind_registry.URL_PATTERN}:kind>", kind)
        item_kind = kind or path.split("/")[2]
        path = path.replace("<id:item_id>", str(data["ids"].get(item_kind, 1)))
        path = path.replace("<id:user_id>", str(data["user_id"]))
        path = path.replace("<any(rectifying, extended, applied, inspection, closed):page>",
                            "rectifying")
        path = path.replace("<any(full, thumbnail):part>", "full")
        if path.startswith("/staff/supervision/"):
            path = path.replace("<id:photo_id>", str(data["supervision_photo_id"]))
        for name in ("report_id", "photo_id", "reward_id", "grant_id", "application_id",
                     "document_id", "objection_id"):
            path = path.replace(f"<id:{name}>", str(data[name]))
        assert "<" not in path, f"teach this test the converter in {rule.rule}"
        urls.append(path)
    return urls


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def request(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    # A valid CSRF token, so the access rule itself is what refuses the request.
    return client.open(url, method=method, data={"csrf_token": csrf_token(client)})


def required_roles(app: Flask, endpoint: str) -> frozenset[str] | None:
    return getattr(app.view_functions[endpoint], "staff_roles", None)


def test_every_staff_view_declares_who_may_use_it(app):
    for endpoint, view in app.view_functions.items():
        if not endpoint.startswith("staff."):
            continue
        public = getattr(view, "staff_public", False)
        roles = getattr(view, "staff_roles", None)
        assert public or roles is not None, f"{endpoint} declares no access rule"
        assert not (public and roles), f"{endpoint} is both public and role-bound"
        if public:
            assert endpoint in ALLOW_LIST, f"{endpoint} is on the allow-list unexpectedly"


def test_anonymous_gets_no_staff_page_or_data(app, data):
    failures = []
    for rule in staff_rules(app):
        if rule.endpoint in ALLOW_LIST:
            continue
        for url in urls_for(rule, data):
            for method in methods(rule):
                client = app.test_client()
                response = request(client, method, url)
                body = response.get_data(as_text=True)
                location = response.headers.get("Location", "")
                if response.status_code != 303 or not location.startswith("/staff/login"):
                    failures.append(f"{method} {url}: {response.status_code} {location}")
                if SECRET_TITLE in body:
                    failures.append(f"{method} {url}: leaked data")
    assert not failures, "\n".join(failures)


def test_wrong_role_is_refused_everywhere(app, data):
    failures, checked = [], 0
    for rule in staff_rules(app):
        roles = required_roles(app, rule.endpoint)
        if rule.endpoint in ALLOW_LIST or not roles:
            continue  # public, or any signed-in account
        others = sorted(set(ROLES) - roles)
        for url in urls_for(rule, data):
            for method in methods(rule):
                client = app.test_client()
                login(client, roles=others)
                response = request(client, method, url)
                checked += 1
                if response.status_code != 403:
                    failures.append(f"{method} {url} as {others}: {response.status_code}")
                if SECRET_TITLE in response.get_data(as_text=True):
                    failures.append(f"{method} {url} as {others}: leaked data")
    assert checked > 30
    assert not failures, "\n".join(failures)


def test_an_account_without_roles_reaches_only_its_own_pages(app, data):
    failures = []
    for rule in staff_rules(app):
        roles = required_roles(app, rule.endpoint)
        if rule.endpoint in ALLOW_LIST or not roles:
            continue
        for url in urls_for(rule, data):
            client = app.test_client()
            login(client, roles=())
            for method in methods(rule):
                response = request(client, method, url)
                if response.status_code != 403:
                    failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_the_right_role_gets_every_page(app, data):
    failures = []
    for rule in staff_rules(app):
        if rule.endpoint in ALLOW_LIST:
            continue
        roles = required_roles(app, rule.endpoint) or frozenset({HANDLER})
        for url in urls_for(rule, data):
            for method in methods(rule):
                client = app.test_client()
                user = login(client, roles=sorted(roles))
                if rule.arguments & {"report_id", "reward_id"}:
                    # A report's photos and payment are its handler's: the right role and the case.
                    with app.app_context():
                        db.session.get(Report, data["report_id"]).handler_id = user.id
                        db.session.commit()
                response = request(client, method, url)
                location = response.headers.get("Location", "")
                if method == "GET" and response.status_code != 200:
                    failures.append(f"{method} {url} as {sorted(roles)}: {response.status_code}")
                if response.status_code in (401, 403, 404, 405, 500) or location.startswith(
                    "/staff/login"
                ) and rule.endpoint != "staff.logout":
                    failures.append(f"{method} {url} as {sorted(roles)}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.usefixtures("test_database")
def test_a_view_that_declares_nothing_is_refused_even_to_an_administrator(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path)
    app.add_url_rule("/staff/forgotten", endpoint="staff.forgotten",
                     view_func=lambda: "unprotected staff data")
    client = app.test_client()
    login(client, roles=sorted(ROLES))
    response = client.get("/staff/forgotten")
    assert response.status_code == 403
    assert "unprotected staff data" not in response.get_data(as_text=True)


def test_role_checks_use_any_of_the_declared_roles(app, data):
    client = app.test_client()
    login(client, roles=(APPROVER, EDITOR))
    assert client.get("/staff/decisions/").status_code == 200
    assert client.get("/staff/audit").status_code == 403
    admin = app.test_client()
    login(admin, roles=(ADMIN,))
    assert admin.get("/staff/audit").status_code == 200
    assert admin.get("/staff/decisions/").status_code == 403
