"""Measuring tools for the benchmark: percentiles, peak memory, machine facts, runs in a fresh process.

    run("latency", articles="articles", store="/tmp/s", questions=["..."])  # -> the child's JSON result
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_RESULT = "BENCH-RESULT "  # the line a child prints its result on
PACKAGES = ("numpy", "chromadb", "llama-index-core", "torch", "sentence-transformers", "onnxruntime", "tokenizers",
            "gradio", "gradio_client")


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile. Example: pct([1, 2, 3, 4], 50) == 2.5."""
    return float(np.percentile(xs, p)) if xs else float("nan")


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a live process, in MB (10^6 bytes)."""
    return _status(pid, "VmHWM")


def rss_mb(pid: int | str = "self") -> float:
    """Current resident memory (VmRSS) of a live process, in MB."""
    return _status(pid, "VmRSS")


def _status(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def env() -> dict[str, str]:
    """The environment for child processes: offline, and this checkout's code first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run(name: str, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run `bench.runs.<name>(**kwargs)` in a fresh Python process; its result, with the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "bench.runs", name, json.dumps(kwargs)], capture_output=True,
                          text=True, env=env(), cwd=ROOT, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_RESULT)]
    if proc.returncode or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"bench.runs {name} failed (exit {proc.returncode}):\n{tail}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = json.loads(lines[-1][len(_RESULT):])
    result["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def result_line(result: dict[str, Any]) -> str:
    return _RESULT + json.dumps(result)


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model, load, Python and package versions, date: what the figures depend on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = _meminfo("MemTotal")
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "cores": os.cpu_count(),
        "ram_gb": round(mem / 1e9, 1),
        "cpu": cpu,
        "load": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        # Without .pyc files every fresh process compiles our modules again: it shows in cold starts.
        "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }


def _meminfo(field: str) -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return float("nan")
