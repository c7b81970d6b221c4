"""L3: `make stop` (scripts/stop.sh) ends the server and worker this checkout started, by their recorded PIDs,
and leaves alone any other process whose command line merely looks alike."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None


def test_stop_ends_recorded_processes_only(tmp_path: Path) -> None:
    decoy = subprocess.Popen(["bash", "-c", 'exec -a "gridgov serve-decoy" sleep 300'])
    served = subprocess.Popen(["bash", "-c", 'exec -a "python -m api.cli serve" sleep 300'])
    try:
        (tmp_path / "serve.pid").write_text(f"{served.pid}\n")
        (tmp_path / "worker.pid").write_text("999999\n")  # a stale file: no such process
        env = {**os.environ, "GRIDGOV_RUN_DIR": str(tmp_path)}
        subprocess.run([str(ROOT / "scripts" / "stop.sh")], env=env, check=True, timeout=30)
        served.wait(timeout=10)
        assert not _alive(served)
        assert _alive(decoy)
        assert not (tmp_path / "serve.pid").exists() and not (tmp_path / "worker.pid").exists()
    finally:
        for p in (decoy, served):
            p.kill()
            p.wait()
