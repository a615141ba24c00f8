"""Each staff module can be imported first (no import cycle between services and views)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", [
    "portal.services.publication.publishing",
    "portal.services.enterprises.blacklist_admin",
    "portal.audit",
    "portal.staff.views",
    "portal.services.reporting.cases",
    "portal.services.reporting.rewards",
])
def test_module_imports_on_its_own(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["portal.services.reporting.cases", "portal.services.reporting.rewards",
                                    "portal.domain.rewards"])
def test_report_services_do_not_import_the_back_office(module):
    # The citizen side uses these too, and reports never import portal.staff (issue 6, §0).
    code = (f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m.startswith('portal.staff')); "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
