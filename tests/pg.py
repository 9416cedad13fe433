"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl on a temporary folder and
a free port, stopped at the end. Debian keeps the binaries in /usr/lib/postgresql/*/bin;
as root they run as the `postgres` user (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from .ports import free_port


def find_bindir() -> Path | None:
    initdb = shutil.which("initdb") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    return Path(initdb).resolve().parent if initdb else None



class Server:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="reach-pg-"))
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.base, user)
            self.run_as = ["runuser", "-u", user, "--"]
        self.data = self.base / "data"

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self.run_as + [str(a) for a in args], capture_output=True,
                              text=True)
        if proc.returncode:
            log = (self.base / "log").read_text() if (self.base / "log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {proc.stderr or proc.stdout}\n{log}")

    def start(self) -> Server:
        self._run(self.bindir / "initdb", "-D", self.data, "-U", "reach", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.base / "log", "-w",
                  "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c full_page_writes=off", "start")
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://reach@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=reach dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
