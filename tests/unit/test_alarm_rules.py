"""When the station raises its voice about what the line depends on (station.line.alarms): a blip is
not worth a siren, the line's database and store are given `alarm.line_down_minutes`, and a
refusal (a full bucket, an untrusted certificate, a 403) rings at once, once, until it is fixed."""

from __future__ import annotations

from station.line.alarms import LOST_AFTER_S, AlarmRules, Health
from station.line.settings import Alarm


def _rules(**kw) -> AlarmRules:
    return AlarmRules(Alarm(**kw))


def test_an_output_down_rings_after_the_blip_allowance_and_once_per_outage():
    rules = _rules()
    down = [Health("broker", False, "connection refused")]
    assert rules.health(down, now=0.0) == []
    assert rules.health(down, now=LOST_AFTER_S / 2) == []
    [alarm] = rules.health(down, now=LOST_AFTER_S)
    assert alarm.kind == "lost" and "output broker lost" in alarm.message and "kept" in alarm.message
    assert rules.health(down, now=LOST_AFTER_S * 10) == []  # said once
    rules.health([Health("broker", True)], now=100.0)
    assert rules.health(down, now=101.0) == [] and len(rules.health(down, now=101.0 + LOST_AFTER_S)) == 1


def test_a_refusal_rings_at_once_even_after_its_outage_was_told():
    rules = _rules()
    assert len(rules.health([Health("mes", False, "HTTP 503")], now=0.0)) == 0
    assert len(rules.health([Health("mes", False, "HTTP 503")], now=LOST_AFTER_S)) == 1
    [alarm] = rules.health([Health("mes", False, "HTTP 403 (forbidden)", refused=True)], now=LOST_AFTER_S + 0.1)
    assert "refuses this station" in alarm.message and "HTTP 403" in alarm.message
    assert rules.health([Health("mes", False, "HTTP 403 (forbidden)", refused=True)], now=50.0) == []


def test_the_line_is_given_its_own_allowance_and_a_refusing_store_none():
    rules = _rules(line_down_minutes=2.0)
    away = [Health("line", False, "database unavailable: connection refused")]
    assert rules.health(away, now=0.0) == []
    assert rules.health(away, now=119.0) == [], "a server restart is not an alarm"
    [alarm] = rules.health(away, now=120.0)
    assert "database or image store is away" in alarm.message and "kept on this PC" in alarm.message
    fresh = _rules(line_down_minutes=2.0)
    [refused] = fresh.health([Health("line", False, "s3://line refused: AccessDenied", refused=True)], now=0.0)
    assert "the line refuses this station" in refused.message and "AccessDenied" in refused.message


def test_no_alarm_when_the_plant_switched_them_off():
    rules = _rules(on_lost=False)
    assert rules.health([Health("line", False, "x", refused=True)], now=0.0) == []
    assert rules.health([Health("camera", False, "gone")], now=1e6) == []


def test_a_product_rings_by_its_own_rules_and_a_changeover_starts_the_streak_over():
    from station.line.recipes import Recipe, with_setting

    rules = _rules(fails_in_a_row=3, on_fail=False)
    touchy = with_setting(Recipe("glass", "m"), "fails_in_a_row", "2")
    loud = with_setting(Recipe("brick", "m"), "alarm_on_fail", "yes")
    assert rules.verdict("fail", "chip", "a.png", "glass", touchy.alarm(rules.cfg)) is None
    [streak] = [rules.verdict("fail", "chip", "b.png", "glass", touchy.alarm(rules.cfg))]
    assert streak is not None and streak.kind == "streak" and streak.message.startswith("2 FAILs in a row")
    # The next product's first FAIL is its own first, not the third of glass's streak.
    first = rules.verdict("fail", "crack", "c.png", "brick", loud.alarm(rules.cfg))
    assert first is not None and first.kind == "fail" and rules.streak == 1
    assert rules.verdict("fail", "crack", "d.png", "plain") is None  # the station's rules: 1 in a row, no on_fail
    assert rules.cfg.fails_in_a_row == 3 and rules.cfg.on_fail is False, "a product's rules never change the station's"
