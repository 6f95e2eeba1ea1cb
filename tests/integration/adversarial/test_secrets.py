"""A planted secret never leaves the process: a camera URL's password is in no log line, no stored
row and no printed output; a database password is in neither the log nor stderr."""

from __future__ import annotations

import functools
import http.server
import json
import sqlite3
import threading

import cv2
import numpy as np
import pytest
from common.redteam_secrets import SECRET
from conftest import run_cli


@pytest.fixture()
def stream_url(tmp_path):
    """A short video behind a real HTTP server on loopback, addressed with user:password@."""
    video = tmp_path / "www" / "line.avi"
    video.parent.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (128, 128))
    rng = np.random.default_rng(3)
    for _ in range(6):
        writer.write(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    writer.release()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(video.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://op:{SECRET}@127.0.0.1:{server.server_address[1]}/line.avi"
    server.shutdown()
    server.server_close()


def _everything_written(data) -> str:
    text = [p.read_text(errors="replace") for p in (data / "logs").glob("station.log*")]
    con = sqlite3.connect(data / "station.db")
    try:
        for table in ("runs", "inspections"):
            text += [repr(row) for row in con.execute(f"SELECT * FROM {table}")]
    finally:
        con.close()
    return "\n".join(text)


def test_a_camera_password_is_never_stored_logged_sent_or_printed(stream_url, data_dir, tmp_path):
    from plc_servers import Webhook

    hook = Webhook()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url}]}))
    try:  # a stream is live: it never ends
        proc = run_cli("run", stream_url, "--limit", "4", "--outputs", str(outputs), "--json", data=data_dir, timeout=300)
    finally:
        hook.close()
    assert json.loads(proc.stdout)["processed"] == 4, proc.stdout
    written = _everything_written(data_dir)
    assert "127.0.0.1" in written, "the run and its parts are recorded, with the camera's address"
    # Every sink's messages: as sent, and as queued on disk for a sink that is down.
    sent = json.dumps(hook.bodies) + "".join(p.read_bytes().decode("latin-1") for p in (data_dir / "outbox").rglob("*"))
    assert len(hook.bodies) == 4 and "127.0.0.1" in json.dumps(hook.bodies), hook.bodies
    assert SECRET not in written + sent + proc.stdout + proc.stderr
    assert "op:***@" in written, "masked, not dropped: support can tell which account was used"


def test_a_webhook_token_comes_from_the_environment_and_is_never_written(demo_images, data_dir, tmp_path):
    """#29: webhook credentials were printed, and a token could not come from the environment."""
    from plc_servers import Webhook

    hook = Webhook()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url,
                                              "headers": {"Authorization": "Bearer ${MES_TOKEN}"}}]}))
    try:
        one_line = run_cli("run", str(demo_images), "--limit", "3", "--outputs", str(outputs), data=data_dir, check=False)
        assert one_line.returncode == 2 and "MES_TOKEN, which is not set" in one_line.stderr, one_line.stderr
        proc = run_cli("run", str(demo_images), "--limit", "3", "--outputs", str(outputs), "--json", data=data_dir,
                       env={"MES_TOKEN": SECRET})
    finally:
        hook.close()
    assert hook.authorizations == [f"Bearer {SECRET}"] * 3
    log = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("station.log*"))
    assert SECRET not in log + proc.stdout + proc.stderr + outputs.read_text()
