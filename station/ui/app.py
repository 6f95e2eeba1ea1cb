"""`station` / `station gui`: the Qt application around the main window."""

from __future__ import annotations

import argparse
import logging
import sys


def make_app(argv: list[str] | None = None):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from station.ui import theme

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else None
    if app is None:
        # Fractional scaling as the OS asks (a 150% shop-floor monitor gets 150%, not 200%).
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("station")
        app.setOrganizationName("station")
        from PySide6.QtGui import QIcon

        from station.core import config
        app.setWindowIcon(QIcon(str(config.resources_dir() / "icon.png")))
    theme.apply(app)
    return app


def run_app(args: argparse.Namespace) -> int:
    import os

    from station.core.errors import StationError

    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        # Qt would abort the process here; say it in one line instead.
        raise StationError("no display to open the window on; use `station run SRC` for headless inspection "
                           "(or QT_QPA_PLATFORM=offscreen)")
    try:
        from station.ui import crash
        from station.ui.main_window import MainWindow, Options
    except ImportError as exc:  # a Qt library the OS lacks (libEGL, libxkbcommon, ...): one line
        logging.getLogger("station.ui").info("Qt import failed", exc_info=True)
        raise StationError(f"cannot load Qt: {str(exc).splitlines()[0]}; install the missing system library "
                           "(see README, Install) or use `station run SRC` for headless inspection") from None
    try:
        app = make_app()
    except Exception as exc:  # noqa: BLE001 (no display, no platform plugin: one line, not a Qt abort)
        raise StationError(f"cannot open a window here ({exc}); use `station run SRC` for headless inspection") from None
    kiosk = bool(getattr(args, "kiosk", False))
    window = MainWindow(Options(source=args.source, model=args.model, data=args.data, db=args.db, store=args.store,
                                station=args.station, device=args.device, backend=args.backend, kiosk=kiosk,
                                outputs=getattr(args, "outputs", None), recipe=getattr(args, "recipe", None)))
    crash.install(window)
    crash.close_on_signals(app, window)
    window.showFullScreen() if kiosk else window.show()
    if getattr(args, "exit_after", None):
        from PySide6.QtCore import QTimer

        window.setProperty("system_quit", True)
        QTimer.singleShot(int(args.exit_after * 1000), window.close)
    code = int(app.exec())
    logging.getLogger("station.ui").info("window closed (exit %d)", code)
    return code
