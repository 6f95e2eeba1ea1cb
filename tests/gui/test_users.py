"""Users and roles through the real CLI: a fresh station checks nothing; once the first engineer
exists, model and threshold changes need an engineer, reviews an inspector, each refusal is one
line, and every change and refusal is in the audit trail with the user's name."""

from __future__ import annotations

import pytest
from common.users import as_user
from conftest import run_cli, run_json


@pytest.mark.gui
def test_the_window_asks_for_an_engineer_before_promoting(qtbot, data_dir, tmp_path):
    import shutil

    from gui_helpers import sign_in as signed
    from PySide6.QtCore import Qt, QTimer

    from station.core.config import default_model_dir
    from station.ui.main_window import MainWindow, Options
    from station.ui.signin import SignInDialog

    shutil.copytree(default_model_dir(), tmp_path / "other")
    run_cli("promote", str(tmp_path / "other"), "--as", "other", data=data_dir)
    run_cli("promote", "default", data=data_dir)
    run_cli("users", "add", "eve", "--role", "engineer", data=data_dir, env=as_user("246810"))
    run_cli("users", "add", "otto", "--role", "operator", "--user", "eve", data=data_dir, env=as_user("246810", "5555"))
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    w.tabs.setCurrentWidget(w.models)
    qtbot.waitUntil(lambda: len(w.models.models) == 2, timeout=10_000)
    w.models.list.setCurrentRow([m.name for m in w.models.models].index("other"))
    seen: dict[str, str] = {}

    def sign_in():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SignInDialog)
        seen["operator"] = signed(qtbot, dialog, "otto", "5555")  # checked off the GUI thread; the refusal comes back
        signed(qtbot, dialog, "eve", "246810")

    from PySide6.QtWidgets import QApplication

    QTimer.singleShot(50, sign_in)
    w.models.activate.click()
    assert seen["operator"] == "otto is an operator; promoting a model needs an engineer"
    # The promotion runs on a worker thread; its message (or an error) comes back to the window.
    qtbot.waitUntil(lambda: "active model" in w.message.text() or "#ff7b72" in w.message.styleSheet(), timeout=20_000)
    assert "other is now the active model" in w.message.text(), w.message.text()
    assert [m["name"] for m in run_json("models", data=data_dir) if m["active"]] == ["other"]
    qtbot.waitUntil(lambda: ("eve", "promote") in [(e["user"], e["action"]) for e in run_json("audit", data=data_dir)],
                    timeout=10_000)
    assert ("otto", "refused") in [(e["user"], e["action"]) for e in run_json("audit", data=data_dir)]
    # Who is signed in is always in view, with Sign out (#30: nothing showed it).
    assert w.who.isVisible() and w.who.label.text() == "signed in: eve (engineer)", w.who.label.text()

    # A sign-in lapses after SIGN_IN_MINUTES idle, not mid-work: each action restarts the clock.
    import time

    from station.ui import signin

    presence = w.presence
    held = presence.signed_in
    nearly = time.monotonic() - signin.SIGN_IN_MINUTES * 60 + 30
    presence.signed_in = held._replace(since=nearly)
    assert w.authorize("engineer", "checking") == "eve" and presence.signed_in.since > nearly, "the action restarted the clock"
    presence.signed_in = held._replace(since=time.monotonic() - signin.SIGN_IN_MINUTES * 60 - 1)
    w.who.show_who()  # what its timer does every 2 s
    assert not w.who.isVisible() and presence.signed_in is None, "an idle sign-in lapses on screen too"
    presence.signed_in = held._replace(since=time.monotonic())
    w.who.show_who()
    qtbot.mouseClick(w.who.sign_out, Qt.MouseButton.LeftButton)
    assert presence.signed_in is None and presence.reviewer is None and not w.who.isVisible()
    asked: list[str] = []

    def cancel():
        dialog = QApplication.activeModalWidget()
        asked.append(type(dialog).__name__)
        dialog.reject()

    QTimer.singleShot(50, cancel)
    w.models.rollback.click()
    assert asked == ["SignInDialog"]
    assert [m["name"] for m in run_json("models", data=data_dir) if m["active"]] == ["other"], "cancelled: nothing rolled back"
    w.close()


@pytest.mark.gui
def test_an_engineer_adds_and_unlocks_users_and_reads_the_audit_in_the_window(qtbot, data_dir):
    """#30: user management and an audit viewer in the window (a shop PC has no terminal)."""
    from PySide6.QtCore import Qt

    from station.ui.main_window import MainWindow, Options
    from station.ui.people import PeopleDialog
    from station.ui.settings_dialog import SettingsDialog

    run_cli("users", "add", "eve", "--role", "engineer", data=data_dir, env=as_user("246810"))
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    settings = SettingsDialog(str(data_dir), w, who="eve")
    qtbot.addWidget(settings)
    assert settings.people_button.isEnabled()
    dlg = PeopleDialog(w, "eve", settings)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.users.rowCount() == 1 and "holds" in dlg.chain.text())
    dlg.name.setText("Otto")
    dlg.role.setCurrentText("engineer")
    dlg.pin.setText("1234")  # too short for an engineer: said in the dialog, nobody added
    qtbot.mouseClick(dlg.add_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "at least 6" in dlg.status.text())
    assert dlg.pin.text() == "", "a PIN is never left on screen"
    dlg.role.setCurrentText("operator")
    dlg.pin.setText("5555")
    qtbot.mouseClick(dlg.add_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.status.text() == "added otto as operator" and dlg.users.rowCount() == 2)
    dlg.users.selectRow([dlg.users.item(r, 0).text() for r in range(2)].index("otto"))
    qtbot.mouseClick(dlg.unlock_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.status.text() == "unlocked otto")
    trail = [(e["user"], e["action"], e["detail"]) for e in run_json("audit", data=data_dir)]
    assert ("eve", "user_added", {"user": "otto", "role": "operator"}) in trail
    assert ("otto", "user_unlocked", {"by": "eve"}) in trail
    qtbot.waitUntil(lambda: any(dlg.audit.item(r, 2).text() == "user_unlocked" for r in range(dlg.audit.rowCount())))
    assert "holds" in dlg.chain.text()
    dlg.close()
    w.close()


@pytest.mark.gui
def test_a_gloved_hand_signs_in_by_touch(qtbot, data_dir):
    """#30: the kiosk asks for a PIN and a panel PC has no keyboard. A button per user who may
    act, and a keypad whose keys (15 mm, like every control) type into the PIN field."""
    from gui_helpers import gui_thread_sql
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QPushButton

    from station.ui import theme
    from station.ui.main_window import MainWindow, Options
    from station.ui.signin import SignInDialog

    run_cli("users", "add", "eve", "--role", "engineer", data=data_dir, env=as_user("246810"))
    run_cli("users", "add", "otto", "--role", "operator", "--user", "eve", data=data_dir, env=as_user("246810", "5555"))
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    theme.apply(QApplication.instance())
    seen: dict[str, object] = {}

    def tap() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SignInDialog)
        qtbot.waitUntil(lambda: bool(dialog.names.buttons) and dialog.names.isVisible(), timeout=10_000)  # read off the GUI thread
        seen["names"] = sorted(dialog.names.buttons)
        need = theme.TOUCH_MM * theme.px_per_mm(dialog.screen())
        seen["small"] = [b.text() for b in dialog.findChildren(QPushButton) if b.isVisible() and b.height() < need - 0.5]
        qtbot.mouseClick(dialog.names.buttons["eve"], Qt.MouseButton.LeftButton)
        for key in "2468109":
            qtbot.mouseClick(dialog.keypad.keys[key], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.keypad.keys["⌫"], Qt.MouseButton.LeftButton)  # the 9 was a slip
        # The dialog's own focus widget: whether the offscreen platform has made the dialog the
        # active window yet depends on the machine's speed; which widget holds its focus does not.
        seen["focus"] = dialog.focusWidget() is dialog.pin
        qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)

    QTimer.singleShot(50, tap)
    try:
        with gui_thread_sql() as queries:  # a slow or restarting line database must not freeze a sign-in
            assert w.authorize("engineer", "promoting a model") == "eve"
    finally:
        QApplication.instance().setStyleSheet("")
    assert queries == [], "the database was queried on the GUI thread:\n" + "\n".join(sorted(set(queries)))
    assert seen["names"] == ["eve"], "only those who may do it get a button (otto is an operator)"
    assert seen["small"] == [], f"under 15 mm: {seen['small']}"
    assert seen["focus"], "a tapped key leaves the focus in the PIN field"
    w.close()
