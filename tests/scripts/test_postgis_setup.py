"""M11: the project-local cluster requires a password (no `trust`), and its data directory is never a path
someone else planted (a symbolic link, or a directory owned by another user)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgis.sh"
pytestmark = pytest.mark.skipif(not Path("/usr/lib/postgresql/15/bin/initdb").exists(), reason="no PostgreSQL 15")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def _shared_tmp() -> Path:
    """A directory the postgres user can enter when we run as root (pytest's tmp_path may be private)."""
    d = Path("/tmp") / f"gridgov-setup-test-{os.getpid()}"
    d.mkdir(mode=0o755, exist_ok=True)
    return d


def test_planted_symlink_is_refused_and_its_target_untouched() -> None:
    base = _shared_tmp()
    try:
        victim = base / "victim"
        victim.mkdir()
        nobody = pwd.getpwnam("nobody")
        if os.getuid() == 0:
            os.chown(victim, nobody.pw_uid, nobody.pw_gid)
        owner_before = victim.stat().st_uid
        link = base / "pgdata"
        link.symlink_to(victim)
        r = _run({"GRIDGOV_PG_DATA": str(link), "GRIDGOV_PG_PORT": "54398", "DATABASE_URL": ""}, "start")
        assert r.returncode != 0
        assert "symbolic link" in r.stderr
        assert victim.stat().st_uid == owner_before
        assert not (victim / "PG_VERSION").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_cluster_needs_its_password() -> None:
    base = _shared_tmp()
    env = {
        "GRIDGOV_PG_DATA": str(base / "pgdata"),
        "GRIDGOV_PG_PORT": "54397",
        "GRIDGOV_PG_PASSWORD_FILE": str(base / "pg.password"),
        "GRIDGOV_DB": "setup_probe",
        "DATABASE_URL": "",
    }
    try:
        r = _run(env, "start")
        assert r.returncode == 0, r.stderr
        hba = subprocess.run(
            ["cat", str(base / "pgdata" / "pg_hba.conf")]
            if os.getuid() != 0
            else ["su", "postgres", "-s", "/bin/sh", "-c", f"cat {base / 'pgdata' / 'pg_hba.conf'}"],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        ).stdout
        rules = [line for line in hba.splitlines() if line.strip() and not line.startswith("#")]
        assert rules and not any(line.split()[-1] == "trust" for line in rules)
        assert oct((base / "pg.password").stat().st_mode & 0o777) == "0o600"
        probe = ["psql", "-h", "127.0.0.1", "-p", "54397", "-U", "gridgov", "-d", "setup_probe", "-tAc", "select 1"]
        no_pw = subprocess.run(probe, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": "wrong"})
        assert no_pw.returncode != 0 and "password authentication failed" in no_pw.stderr
        pw = (base / "pg.password").read_text().strip()
        ok = subprocess.run(probe, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": pw})
        assert ok.stdout.strip() == "1"
    finally:
        _run(env, "stop")
        shutil.rmtree(base, ignore_errors=True)
