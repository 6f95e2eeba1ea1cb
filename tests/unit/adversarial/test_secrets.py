"""A planted secret never leaves the process: a camera URL's password is in no log line, no stored
row and no printed output; a database password is in neither the log nor stderr."""

from __future__ import annotations

from common.redteam_secrets import SECRET
from conftest import run_cli


def test_a_database_password_is_not_in_the_log(data_dir):
    proc = run_cli("models", "--db", f"postgresql+psycopg://qa:{SECRET}@127.0.0.1:1/station", data=data_dir, check=False)
    assert proc.returncode == 2
    log = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("station.log*"))
    assert "qa:***@127.0.0.1:1" in log, "the command line is logged, masked"
    assert SECRET not in log + proc.stderr
