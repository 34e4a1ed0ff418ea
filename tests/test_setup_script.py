"""scripts/setup checks the disk before it installs: a full disk is named up front, not hit mid-install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from qa.config import PROJECT_DIR


def test_setup_refuses_an_install_the_disk_cannot_hold_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT_DIR / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    more_than_any_disk = str(10**12)  # MB

    run = subprocess.run(["bash", "scripts/setup"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "QA_SETUP_MIN_FREE_MB": more_than_any_disk, "TMPDIR": str(tmp_path)})

    assert run.returncode == 1
    assert f"needs about {more_than_any_disk} MB free; {tmp_path} has " in run.stderr
    assert "Free some space there" in run.stderr and "nothing was installed" in run.stderr
    assert not (tmp_path / ".venv").exists()
