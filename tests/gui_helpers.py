"""Helpers for the pytest-qt tests: open the real window, wait for the store, always close."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, text


def rows(data: Path, sql: str, **params) -> list:
    """Read the station's SQLite file directly, as an auditor would."""
    engine = create_engine(f"sqlite:///{data / 'station.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def slow_model_factory(data: Path, delay_s: float, calls: list | None = None):
    """The real default model, made slow: each batch sleeps `delay_s` per image before its forward
    pass. `calls` collects (thread id, start, end) of each slow forward pass."""
    def make():
        import threading

        from station.model import load_model

        model = load_model(None, str(data))
        real = model.forward_with_cam

        def slow(x):
            start = time.perf_counter()
            time.sleep(delay_s * x.shape[0])
            if calls is not None:
                calls.append((threading.get_ident(), start, time.perf_counter()))
            return real(x)

        model.forward_with_cam = slow
        return model
    return make


def modal_dialog(qtbot, timeout: int = 5000):
    from PySide6.QtWidgets import QApplication

    found = []
    qtbot.waitUntil(lambda: found.append(QApplication.activeModalWidget()) or found[-1] is not None, timeout=timeout)
    return found[-1]


def station_window(qtbot, data: Path):
    """The real window on `data`, shown, not started (closed by the test, or by pytest-qt)."""
    from station.ui.main_window import MainWindow, Options

    w = MainWindow(Options(autostart=False, device="cpu", data=str(data)))
    qtbot.addWidget(w)
    w.show()
    return w


def start_on(w, source: str, reviewer: str) -> None:
    """What an operator does: their name, the source typed on the Live tab, Start."""
    w.set_reviewer(reviewer)
    w.live.source_bar.set_source(source)
    w.live.source_bar.start_btn.click()
