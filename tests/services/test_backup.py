"""backup DIR and the restore drill: every count, every report (decrypted), the audit chain."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from datetime import date

import sqlalchemy as sa

from portal import audit, create_app
from portal.extensions import db
from portal.models import Report, ReportMessage, ReportPhoto
from portal.services.operations.backup import row_counts
from tests import factories
from tests.conftest import TEST_DATABASE_URL, skip_or_fail
from tests.databases import sibling_database
from tests.staff.conftest import make_staff

SECRET_WORDS = "【恢复演练】仓库里堆放着未登记的烟花爆竹"


def _seed(app) -> None:
    with app.app_context():
        factories.decision()
        factories.blacklist_entry()
        make_staff("editor", username="backup.editor")
        report = Report(receipt_digest=secrets.token_hex(32), kind="hazard",
                        received_on=date(2026, 11, 2), county="景洪市",
                        enterprise_name="恢复演练测试企业", place="仓库", description=SECRET_WORDS,
                        seen_since="上周")
        report.add_event("received", date(2026, 11, 2))
        report.messages.append(ReportMessage(sent_on=date(2026, 11, 3), author="staff",
                                             body="请问仓库在几楼？"))
        report.photos.append(ReportPhoto(media_type="image/jpeg", width=1, height=1,
                                         data=b"\xff\xd8photo-bytes"))
        db.session.add(report)
        audit.record(db.session, "edit", actor_name="system", object_kind="decisions",
                     object_id=1, summary={"test": "backup"})
        db.session.commit()


def _restored_url(tmp_path, dump) -> str:
    if dump.suffix == ".sqlite3":
        target = tmp_path / "restored.db"
        shutil.copyfile(dump, target)
        return f"sqlite:///{target}"
    url = sa.make_url(sibling_database(
        TEST_DATABASE_URL, f"{sa.make_url(TEST_DATABASE_URL).database}_restore", fresh=True))
    subprocess.run([shutil.which("pg_restore"), "--no-owner",
                    f"--dbname={url.set(drivername='postgresql').render_as_string(False)}",
                    str(dump)], check=True, capture_output=True)
    return url.render_as_string(hide_password=False)


def test_backup_then_restore_drill_keeps_everything(app, tmp_path):
    if TEST_DATABASE_URL and not shutil.which("pg_restore"):
        skip_or_fail("pg_restore not installed (postgresql-client)")
    _seed(app)
    data_key = app.config["SETTINGS"].data_key
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    [folder] = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    dump = folder / manifest["dump"]
    # Never the key, and none of the report's words in clear.
    for path in folder.iterdir():
        content = path.read_bytes()
        assert data_key.encode() not in content
        assert SECRET_WORDS.encode() not in content
    assert manifest["row_counts"]["reports"] == 1 and manifest["row_counts"]["staff_users"] == 1

    restored = create_app({"env": "test", "database_url": _restored_url(tmp_path, dump),
                           "index_dir": str(tmp_path / "restored-index"), "data_key": data_key})
    with restored.app_context():
        assert row_counts() == manifest["row_counts"]
        report = db.session.scalar(sa.select(Report))
        assert report.description == SECRET_WORDS
        assert report.messages[0].body == "请问仓库在几楼？"
        assert report.photos[0].data == b"\xff\xd8photo-bytes"
        chain = audit.verify(db.session, anchor=manifest["audit_head_hash"])
        assert chain.intact and chain.count == manifest["audit_events"]
        db.session.remove()
        db.engine.dispose()
    restored.extensions["search_index"].close()
