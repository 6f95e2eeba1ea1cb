"""A part's verdict from its views' verdicts: the one rule the line's answer and the part's row
both follow.

- a view missing or unreadable makes the part NOT INSPECTED ("error"), with that view's reason:
  a part nobody saw whole is never passed;
- else a view that failed fails the part, and the part's type and heatmap are that view's (the
  failing view most sure of its defect);
- else the part passes.

A frame with no part (`Frame.part` None) is a part of one view: its own verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.core.domain import Result


@dataclass(frozen=True)
class PartVerdict:
    uid: str  # the part's id: shared by its views, or a one-view part's own result uid
    views: tuple[Result, ...]  # in the station's order of views
    deciding: Result  # the view the part's verdict, type and heatmap are taken from
    verdict: str  # pass | fail | error
    reason: str | None  # why it is NOT INSPECTED

    @property
    def view(self) -> str | None:
        """The deciding view's name when it failed or is missing (None: a pass, or one view)."""
        return self.deciding.frame.view if self.verdict != "pass" else None

    @property
    def names(self) -> tuple[str, ...]:
        return self.views[0].frame.views

    @property
    def skipped(self) -> bool:
        """Every view was judged by this model before (a re-run): nothing new to tell or keep."""
        return all(r.skipped for r in self.views)


def decide(views: tuple[Result, ...]) -> PartVerdict:
    """The part's verdict from every one of its views (skipped views do not decide)."""
    first = views[0]
    uid = first.frame.part or first.uid
    for r in views:
        if r.error is not None:  # "no side view: ..." names its view already; an unreadable one is named here
            name = r.frame.view
            said = r.error if not name or r.error.startswith(f"no {name} view") else f"{name}: {r.error}"
            return PartVerdict(uid, views, r, "error", said)
    judged = [r for r in views if r.prediction is not None]
    failed = [r for r in judged if r.prediction is not None and r.prediction.verdict == "fail"]
    if failed:
        worst = max(failed, key=lambda r: r.prediction.p_defect if r.prediction is not None else 0.0)
        return PartVerdict(uid, views, worst, "fail", None)
    if not judged:
        return PartVerdict(uid, views, first, "pass", None)  # every view skipped
    most = max(judged, key=lambda r: r.prediction.p_defect if r.prediction is not None else 0.0)
    return PartVerdict(uid, views, most, "pass", None)


class Assembler:
    """Collects views as they are judged, and gives a part once every one of its views has come.
    Views of a part arrive together and in order (station.sources.views), so at most one part is
    open at a time; a part left open when the run ends is handed out by `flush` as NOT INSPECTED."""

    def __init__(self) -> None:
        self._open: dict[str, list[Result]] = {}

    def add(self, r: Result) -> PartVerdict | None:
        if r.frame.part is None:
            return decide((r,))
        got = self._open.setdefault(r.frame.part, [])
        got.append(r)
        if len(got) < len(r.frame.views):
            return None
        del self._open[r.frame.part]
        order = {name: i for i, name in enumerate(r.frame.views)}
        return decide(tuple(sorted(got, key=lambda x: order.get(x.frame.view or "", 0))))

    def flush(self) -> list[PartVerdict]:
        """Parts some of whose views never came (the run stopped between them)."""
        import dataclasses

        out = []
        for got in self._open.values():
            names = got[0].frame.views
            seen = {r.frame.view for r in got}
            missing = [dataclasses.replace(got[0], frame=dataclasses.replace(got[0].frame, view=n, refused=f"no {n} view: the run stopped"),
                                           error=f"no {n} view: the run stopped", prediction=None, skipped=False)
                       for n in names if n not in seen]
            out.append(decide(tuple(got + missing)))
        self._open.clear()
        return out
