import pytest


@pytest.fixture
def app_settings() -> dict:
    # The follow-up's fixed answer time, shortened for the suite.
    return {"REPORT_FOLLOWUP_MIN_SECONDS": 0.02}
