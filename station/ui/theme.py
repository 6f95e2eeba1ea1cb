"""A dark, high-contrast theme with large type: read from two metres, used with gloves."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

PASS = "#1f9d55"
FAIL = "#d64541"
IDLE = "#3a3f46"
UNCERTAIN = "#c98a1a"  # amber: a person should look

STYLE = """
QWidget { font-size: 15px; }
QPushButton { min-height: 44px; padding: 4px 16px; border-radius: 6px; background: #2d333b; border: 1px solid #444c56; }
QPushButton:hover { background: #373e47; }
QPushButton:pressed { background: #444c56; }
QPushButton:disabled { color: #6e7681; }
QPushButton#primary { background: #1f6feb; border-color: #388bfd; font-weight: bold; }
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox { min-height: 36px; padding: 2px 8px; }
QTabBar::tab { min-height: 40px; min-width: 130px; font-size: 16px; padding: 4px 14px; }
QLabel#banner { font-size: 72px; font-weight: 800; color: white; border-radius: 10px; padding: 8px; }
QLabel#bannerDetail { font-size: 26px; font-weight: 600; }
QLabel#big { font-size: 34px; font-weight: 700; }
QLabel#muted { color: #8b949e; }
QPushButton#diskWarning { color: black; background: #d29922; font-weight: 700; padding: 2px 8px; border-radius: 4px; }
QStatusBar QLabel { font-size: 14px; padding: 0 8px; }
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#1c2128", QPalette.ColorRole.WindowText: "#e6edf3",
        QPalette.ColorRole.Base: "#161b22", QPalette.ColorRole.AlternateBase: "#1c2128",
        QPalette.ColorRole.Text: "#e6edf3", QPalette.ColorRole.Button: "#2d333b",
        QPalette.ColorRole.ButtonText: "#e6edf3", QPalette.ColorRole.Highlight: "#1f6feb",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2d333b",
        QPalette.ColorRole.ToolTipText: "#e6edf3", QPalette.ColorRole.PlaceholderText: "#6e7681",
    }
    for role, color in colors.items():
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 11.0))
    app.setFont(font)
    app.setStyleSheet(STYLE)
