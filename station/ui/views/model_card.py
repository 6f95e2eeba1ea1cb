"""What the Models tab says about one model: its card as HTML, and the one F1 its list shows."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.model.registry import ModelEntry


def _test(m: ModelEntry) -> dict[str, Any]:
    return m.test_metrics if isinstance(m.test_metrics, dict) else {}


def headline_f1(m: ModelEntry) -> str:
    """One F1 per model in the list, named: the held-out test parts' when there are any (#30:
    the list said 0.400 and the card 0.545, both "F1")."""
    test, val = _test(m).get("f1"), (m.metrics or {}).get("f1")
    if isinstance(test, float):
        return f" · F1 {test:.3f} on test parts"
    return f" · F1 {val:.3f} on validation" if isinstance(val, float) else ""


def _cell(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def _metrics_html(val: dict[str, Any], test: dict[str, Any]) -> str:
    """Validation and test side by side in one table, each column saying what its parts were."""
    keys = [k for k in dict.fromkeys([*val, *test]) if k != "split" and not isinstance(val.get(k, test.get(k)), (dict, list))]
    head = "<tr><th></th><th align='right'>validation<br>(the cut was set here)</th>" + (
        "<th align='right'>test<br>(held out)</th>" if test else "") + "</tr>"
    body = "".join(f"<tr><td>{html.escape(k)}</td><td align='right'><b>{_cell(val.get(k))}</b></td>"
                   + (f"<td align='right'><b>{_cell(test.get(k))}</b></td>" if test else "") + "</tr>" for k in keys)
    return f"<h3>Metrics</h3><table cellspacing='0' cellpadding='4'>{head}{body}</table>"


def card_html(m: ModelEntry) -> str:
    esc = html.escape
    test = _test(m)
    # An engineer comparing models wants the held-out figure beside the validation split the
    # threshold was tuned on, each named, not two unlabelled F1s.
    split = f"<p>Test parts: {esc(str(test['split']))}</p>" if test.get("split") else ""
    parent = m.parent
    parent_text = f"{parent.get('name')} {parent.get('version')}" if isinstance(parent, dict) else "none (trained from ImageNet)"
    override = m.threshold != m.calibrated_threshold
    return (
        f"<h2>{esc(m.name)}{' (active)' if m.active else ''}</h2>"
        f"<p><b>Kind:</b> {esc(m.kind)}<br><b>Classes:</b> {esc(', '.join(m.classes))}<br>"
        f"<b>Threshold:</b> fail when p_defect ≥ {float(m.threshold or 0):.3f}"
        + (f" (set here; calibrated {float(m.calibrated_threshold or 0):.3f})" if override else " (calibrated on validation)")
        + f"<br><b>Architecture:</b> {esc(str(m.arch))}<br><b>Parent:</b> {esc(parent_text)}<br>"
        f"<b>Created:</b> {esc(str(m.created))}<br><b>Folder:</b> {esc(m.path)}</p>"
        + _metrics_html(m.metrics or {}, test) + split
    )
