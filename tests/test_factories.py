from portal.domain.accidents import AccidentLevel
from tests import factories


def test_factories_make_published_items(db_session):
    d = factories.decision()
    a = factories.accident(deaths=3)
    factories.power()
    factories.blacklist_entry()
    db_session.commit()
    assert d.publish_due is not None and d.is_published
    assert a.accident_level is AccidentLevel.LARGER
