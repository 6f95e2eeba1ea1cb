"""A dark, high-contrast theme with large type: read from two metres, used with gloves."""

from __future__ import annotations

import math

from PySide6.QtGui import QColor, QFont, QPalette, QScreen
from PySide6.QtWidgets import QApplication

PASS = "#1f9d55"
FAIL = "#d64541"
IDLE = "#3a3f46"
UNCERTAIN = "#c98a1a"  # amber: a person should look

TOUCH_MM = 15.0  # the smallest thing a gloved finger is asked to hit

STYLE = """
QWidget {{ font-size: 15px; }}
QPushButton {{ min-height: {touch_inner}px; padding: 4px 16px; border-radius: 6px; background: #2d333b; border: 1px solid #444c56; }}
QPushButton:hover {{ background: #373e47; }}
QPushButton:pressed {{ background: #444c56; }}
QPushButton#primary {{ background: #1f6feb; border-color: #388bfd; font-weight: bold; }}
QPushButton:disabled, QPushButton#primary:disabled {{ color: #545d68; background: #1c2128; border: 1px dashed #30363d; }}
QComboBox {{ min-height: {combo_inner}px; padding: 2px 8px; }}
QLineEdit, QSpinBox, QDoubleSpinBox {{ min-height: {combo_inner}px; padding: 2px 8px; }}
QCheckBox {{ min-height: {touch}px; spacing: 10px; }}
QCheckBox::indicator {{ width: {indicator}px; height: {indicator}px; }}
QSlider {{ min-height: {touch}px; }}
QSlider::handle:horizontal {{ width: {indicator}px; margin: -{handle_margin}px 0; border-radius: 4px; background: #8b949e; }}
QSlider::groove:horizontal {{ height: 6px; background: #444c56; }}
QTabBar::tab {{ min-height: {tab_inner}px; min-width: 130px; font-size: 16px; padding: 4px 14px; }}
QLabel#banner {{ font-weight: 800; color: white; border-radius: 10px; }}
QLabel#bannerDetail {{ font-size: 26px; font-weight: 600; }}
QLabel#big {{ font-size: 34px; font-weight: 700; }}
QLabel#muted {{ color: #8b949e; }}
QLabel#shift {{ font-size: 18px; font-weight: 600; }}
QLabel#product {{ font-size: 40px; font-weight: 800; letter-spacing: 2px; }}
QPushButton#diskWarning {{ color: black; background: #d29922; font-weight: 700; padding: 2px 8px; border-radius: 4px; }}
QStatusBar QLabel {{ font-size: 14px; padding: 0 8px; }}
"""


def px_per_mm(screen: QScreen | None) -> float:
    """Logical pixels per millimetre on `screen`; 96 dpi when it reports nothing believable
    (some panels and remote sessions report 0 or absurd sizes)."""
    dpi = screen.physicalDotsPerInch() / max(screen.devicePixelRatio(), 1.0) if screen is not None else 0.0
    return (dpi if 50 <= dpi <= 600 else 96.0) / 25.4


def touch_px(screen: QScreen | None) -> int:
    return math.ceil(TOUCH_MM * px_per_mm(screen))


def style(screen: QScreen | None) -> str:
    touch = touch_px(screen)
    indicator = math.ceil(touch * 0.55)
    # min-height sizes the content box; padding and border make up the rest (a button: 4+4 and
    # 1+1; a combo box: 2+2 and its frame).
    return STYLE.format(touch=touch, touch_inner=touch - 10, combo_inner=touch - 7, tab_inner=touch - 8, indicator=indicator, handle_margin=(indicator - 6) // 2)


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
    app.setStyleSheet(style(app.primaryScreen()))
