"""scripts/setup checks the disk before it installs: a full disk is named up front, not hit mid-install."""

from __future__ import annotations

import hashlib
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


def test_a_dev_install_serves_scripts_run_but_a_run_install_is_not_enough_for_scripts_test(tmp_path: Path) -> None:
    """scripts/run installs no torch (`scripts/setup`); scripts/test adds the dev tools (`scripts/setup --dev`)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT_DIR / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / ".venv").mkdir()
    want = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes() + (tmp_path / "scripts" / "setup").read_bytes())
    env = {**os.environ, "QA_SETUP_MIN_FREE_MB": str(10**12), "TMPDIR": str(tmp_path)}  # an install stops at once

    def setup(*args: str) -> int:
        return subprocess.run(["bash", "scripts/setup", *args], cwd=tmp_path, env=env, capture_output=True,
                              timeout=60).returncode

    (tmp_path / ".venv" / ".installed").write_text(f"{want.hexdigest()} dev\n")
    assert setup() == 0 and setup("--dev") == 0  # nothing to install
    (tmp_path / ".venv" / ".installed").write_text(f"{want.hexdigest()} run\n")
    assert setup() == 0
    assert setup("--dev") == 1  # it would install: the disk check stopped it
    assert "torch" not in _run_install_lines()


def _run_install_lines() -> str:
    """The pip lines scripts/setup runs without --dev."""
    text = (PROJECT_DIR / "scripts" / "setup").read_text()
    run_branch = text.split("else\n", 1)[1].split("fi\n", 1)[0]
    return run_branch + "\n".join(line for line in text.splitlines() if "--no-deps" in line)
