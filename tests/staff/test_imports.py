"""Each staff module can be imported first (no import cycle between services and views)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", [
    "portal.services.publishing",
    "portal.services.blacklist_admin",
    "portal.audit",
    "portal.staff.views",
])
def test_module_imports_on_its_own(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
