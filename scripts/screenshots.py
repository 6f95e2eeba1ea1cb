"""Renders the README's screenshots from the real window: the bundled demo through the default
model into a throwaway data dir, then the live, review, statistics and models tabs, the
kiosk at 1366x768, the line's outputs (their dialog, and their lights while the demo runs), and
the review grid's groups of alike defects on a real-photo line (scikit-image's brick), a
product's areas drawn over its part, and a part seen from two sides.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [OUT_DIR [ONLY ...]]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QCoreApplication

from station.core import config
from station.ui.app import make_app
from station.ui.main_window import MainWindow, Options


def wait(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit("screenshots: timed out waiting for the window")
        QCoreApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.02)


def show_a_failed_part(w: MainWindow) -> None:
    """Once the run is done, a failed part on screen, so the heatmap and the box show."""
    wait(lambda: w.worker is None and w.live.history.count() > 0)
    # The shift line catches up within two seconds of the last part (it is not re-read per part).
    wait(lambda: "inspected" in w.live.shift_line.text() and ":  0 inspected" not in w.live.shift_line.text())
    for row in range(w.live.history.count()):
        r = w.live._history[row]
        if r.verdict == "fail" and r.box:
            w.live._display(r)
            break
    settle()


def outputs(out: Path) -> None:
    """The line's outputs: the Line outputs dialog, and the status bar's lights while the demo
    runs, with a webhook that answers (on loopback, here), the station's own OPC UA server, and an
    MQTT broker that is not there (its light orange, its verdicts waiting)."""
    import json
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from station.ui.outputs_dialog import OutputsDialog

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        opc_port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="station-outputs-")
    (Path(data) / "outputs.json").write_text(json.dumps({"sinks": [
        {"kind": "mqtt", "name": "broker", "host": "127.0.0.1", "port": 9, "topic": "plant/line7/{station}"},
        {"kind": "webhook", "name": "mes", "url": f"http://127.0.0.1:{hook.server_address[1]}/verdicts"},
        {"kind": "opcua-server", "name": "scada", "host": "127.0.0.1", "port": opc_port}]}))
    w = MainWindow(Options(data=data, autostart=False, device="cpu", station="press-3"))
    w.resize(1400, 860)
    w.show()
    dialog = OutputsDialog(data, parent=w)
    dialog.show()
    settle()
    dialog.grab().save(str(out / "outputs-dialog.png"))
    dialog.close()
    w.start_source("")  # the demo at its watchable pace: the station's OPC UA server takes seconds to start
    lights = w.line_status.lights.lights
    wait(lambda: {"broker", "mes", "scada"} <= set(lights) and "waiting" in lights["broker"].text()
         and lights["mes"].text() == "● mes" and lights["scada"].text() == "● scada")
    wait(lambda: w.bell.last is not None and "broker lost" in w.bell.last.message, timeout=20)
    w.banner.show_alarm(w.bell.last.message)  # the newest alarm (a FAIL streak may have come after it)
    settle(1.0)
    w.grab().save(str(out / "outputs.png"))
    w.close()
    hook.shutdown()
    shutil.rmtree(data, ignore_errors=True)


def station(*args: str) -> None:
    """The real CLI in its own interpreter, as an engineer would type it."""
    import subprocess

    subprocess.run([sys.executable, "-m", "station", *args], check=True, capture_output=True)


def groups(out: Path) -> None:
    """The Review tab's *Unnamed defects, alike together*: a brick line taught from good parts,
    its stream judged, the unnamed defects grouped, the first group selected."""
    work = Path(tempfile.mkdtemp(prefix="station-groups-"))

    station("line-data", str(work / "brick"), "--line", "brick", "--good", "30", "--stream", "120", "--test", "0", "--seed", "4")
    data = ("--data", str(work / "data"))
    station("teach", str(work / "brick" / "good"), "--out", str(work / "taught"), "--name", "brick", *data)
    station("promote", str(work / "taught"), "--as", "brick", *data)
    station("run", str(work / "brick" / "line"), *data)
    w = MainWindow(Options(data=str(work / "data"), autostart=False, device="cpu"))
    w.set_reviewer("screenshots")
    w.resize(1400, 860)
    w.show()
    w.tabs.setCurrentWidget(w.review)
    wait(lambda: w.review.total > 0)
    w.review.order.setCurrentIndex(w.review.order.findData("groups"))
    wait(lambda: bool(w.review.items) and all("group" in it for it in w.review.items))
    wait(lambda: not w.review.grid._pending)
    settle()
    w.grab().save(str(out / "review-groups.png"))
    w.close()
    shutil.rmtree(work, ignore_errors=True)


def areas(out: Path) -> None:
    """A product's areas (Live tab → Areas…): a brick recipe, its region judged and a mask, drawn
    over its newest stored part, as an engineer sees them before Save."""
    from station.ui.areas import AreasDialog

    work = Path(tempfile.mkdtemp(prefix="station-areas-"))

    station("line-data", str(work / "brick"), "--line", "brick", "--good", "30", "--stream", "6", "--test", "0", "--seed", "4")
    data = ("--data", str(work / "data"))
    station("teach", str(work / "brick" / "good"), "--out", str(work / "taught"), "--recipe", "brick", *data)
    station("recipes", "set", "brick", "roi", "0.05,0.05,0.9,0.9", *data)
    station("recipes", "set", "brick", "masks", "0.6,0.08,0.3,0.2", *data)
    station("run", str(work / "brick" / "line"), "--recipe", "brick", *data)
    w = MainWindow(Options(data=str(work / "data"), autostart=False, device="cpu"))
    w.set_reviewer("screenshots")
    w.resize(1400, 860)
    w.show()
    wait(lambda: w.live.source_bar.areas.isVisible())
    w.live.source_bar.areas.click()
    wait(lambda: w.findChild(AreasDialog) is not None and w.findChild(AreasDialog).canvas.has_image())
    dialog = w.findChild(AreasDialog)
    settle()
    dialog.grab().save(str(out / "areas.png"))
    dialog.reject()
    w.close()
    shutil.rmtree(work, ignore_errors=True)


def views(out: Path) -> None:
    """A part seen from two sides (`views:top=…,side=…`): the part's verdict on the banner, the
    failing view large with its heatmap, and both views side by side under it."""
    work = Path(tempfile.mkdtemp(prefix="station-views-"))
    demo = config.demo_dir()
    goods, cracks = sorted((demo / "good").glob("*.png")), sorted((demo / "crack").glob("*.png"))
    for view in ("top", "side"):
        (work / view).mkdir()
    for n in range(4):  # good tops; the last part's side is cracked
        shutil.copy(goods[n], work / "top" / f"{n:04d}.png")
        shutil.copy(cracks[0] if n == 3 else goods[4 + n], work / "side" / f"{n:04d}.png")
    w = MainWindow(Options(data=str(work / "data"), autostart=False, device="cpu"))
    w.set_reviewer("screenshots")
    w.resize(1400, 860)
    w.show()
    w.start_source(f"views:top={work / 'top'},side={work / 'side'}")
    wait(lambda: w.worker is None and w.live.history.count() == 4)
    settle(2.5)  # the shift line catches up
    w.grab().save(str(out / "views.png"))
    w.close()
    shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = make_app()
    if len(sys.argv) > 2:  # only these: `screenshots.py docs/screenshots views`
        for name in sys.argv[2:]:
            globals()[name](out)
        app.quit()
        return 0
    with tempfile.TemporaryDirectory() as data:
        w = MainWindow(Options(data=data, autostart=False, device="cpu"))
        w.set_reviewer("screenshots")
        w.resize(1400, 860)
        w.show()
        w.start_source(str(config.demo_dir()))
        show_a_failed_part(w)
        w.grab().save(str(out / "live.png"))
        w.tabs.setCurrentWidget(w.review)
        wait(lambda: len(w.review.items) > 0)
        wait(lambda: w.review.current()["id"] in w.review.cache)
        settle()
        w.grab().save(str(out / "review.png"))
        w.tabs.setCurrentWidget(w.stats)
        wait(lambda: w.stats.total.text() not in ("–", "0"))
        settle()
        w.grab().save(str(out / "statistics.png"))
        w.tabs.setCurrentWidget(w.models)
        wait(lambda: w.models.list.count() > 0)
        settle()
        w.grab().save(str(out / "models.png"))
        w.close()
        # The shop floor: the kiosk on a 1366x768 panel PC (what --kiosk shows full screen there).
        # Its own data dir: in the first one the demo parts are judged already, and the window skips them.
        kiosk_data = tempfile.mkdtemp(prefix="station-kiosk-")
        k = MainWindow(Options(data=kiosk_data, autostart=False, device="cpu", kiosk=True))
        k.resize(1366, 768)
        k.show()
        k.start_source(str(config.demo_dir()))
        show_a_failed_part(k)
        k.grab().save(str(out / "kiosk-1366x768.png"))
        k.setProperty("system_quit", True)
        k.close()
        shutil.rmtree(kiosk_data, ignore_errors=True)
        outputs(out)
        groups(out)
        areas(out)
        views(out)
    app.quit()
    print(f"screenshots written to {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
