"""Hot times: hour-of-week counts (aoristic), peaks and shift proposals, checked by hand and by
brute force."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.errors import InputError
from geo.hot_times import hot_times, hour_of_week_counts, parse_shifts, propose_shifts, shifts_load
from geo.hotspots import Shift

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def _ts(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps)))


def test_point_times_count_in_their_hour_of_week():
    # 2024-03-04 is a Monday.
    start = _ts("2024-03-04 00:00", "2024-03-04 00:59", "2024-03-05 13:10", "2024-03-10 23:59")
    counts = hour_of_week_counts(start)
    assert counts[0] == 2 and counts[24 + 13] == 1 and counts[167] == 1
    assert counts.sum() == 4


def test_aoristic_spreads_over_the_interval_by_minutes():
    # Monday 10:30-12:30: a quarter in 10:00, half in 11:00, a quarter in 12:00.
    counts = hour_of_week_counts(_ts("2024-03-04 10:30"), _ts("2024-03-04 12:30"))
    assert counts[10] == pytest.approx(0.25) and counts[11] == pytest.approx(0.5)
    assert counts[12] == pytest.approx(0.25) and counts.sum() == pytest.approx(1.0)
    # Sunday 23:30 -> Monday 00:30 wraps the week.
    counts = hour_of_week_counts(_ts("2024-03-10 23:30"), _ts("2024-03-11 00:30"))
    assert counts[167] == pytest.approx(0.5) and counts[0] == pytest.approx(0.5)
    # Two whole weeks: evenly over all 168 hours.
    counts = hour_of_week_counts(_ts("2024-03-06 07:00"), _ts("2024-03-20 07:00"))
    assert np.allclose(counts, 1 / 168)
    # A missing or backward end counts at the start.
    counts = hour_of_week_counts(_ts("2024-03-04 10:30", "2024-03-04 10:30"),
                                 pd.Series([pd.NaT, pd.Timestamp("2024-03-04 09:00")]))
    assert counts[10] == 2


def test_demo_profile_equals_an_independent_count():
    inc = gpd.read_file(DEMO, layer="incidents")
    ht = hot_times(inc)
    expected = np.zeros(168)
    for text in inc["time"]:
        t = dt.datetime.fromisoformat(text)
        expected[t.weekday() * 24 + t.hour] += 1
    assert np.array_equal(ht.hour_of_week, expected)
    assert ht.incidents == len(inc) and ht.without_time == 0
    assert np.array_equal(ht.by_hour, expected.reshape(7, 24).sum(axis=0))
    top = ht.peaks(3)
    assert top[0]["count"] == expected.max() and top[0]["hour_of_week"] == int(np.argmax(expected))
    assert all(ht.by_hour[h] < 0.5 * ht.by_hour.mean() for h in ht.quiet_hours())


def test_where_selects_rows_and_unknown_columns_are_errors():
    frame = pd.DataFrame({"time": ["2024-03-04 01:00", "2024-03-04 02:00", None]})
    ht = hot_times(frame, where=np.array([True, False, True]), scope="x")
    assert ht.incidents == 1 and ht.without_time == 1 and ht.hour_of_week[1] == 1
    with pytest.raises(InputError, match="end_col"):
        hot_times(frame, end_col="finished")


def test_shifts_load_figures_by_hand():
    by = np.zeros(24)
    by[8:16] = 1.0  # all the load in the day shift
    plan = shifts_load(by, parse_shifts("08:00-16:00,16:00-24:00,00:00-08:00"), [2, 1, 1])
    assert plan.load == pytest.approx((1.0, 0.0, 0.0))
    assert plan.unit_hours == 32
    # worst hour: 1/8 of the load on 2 units; fair: 1/32 per unit-hour -> ratio 2
    assert plan.peak_pressure == pytest.approx(2.0)
    with pytest.raises(InputError, match="nobody on duty"):
        shifts_load(by, [Shift(8 * 60, 16 * 60)], [1])


def _brute_force(by: np.ndarray, n_shifts: int, unit_hours: float, lo: int, hi: int) -> float:
    """The least peak load per unit over every shift system and every whole staffing within
    the budget, measured with shifts_load (a second method)."""
    best = np.inf
    for first in range(24):
        for lens in itertools.product(range(lo, hi + 1), repeat=n_shifts):
            if sum(lens) != 24:
                continue
            starts = np.cumsum((first, *lens[:-1])) % 24
            shifts = [Shift(int(h) * 60, int((h + n) % 24) * 60) for h, n in zip(starts, lens)]
            for units in itertools.product(range(1, 9), repeat=n_shifts):
                if sum(u * n for u, n in zip(units, lens)) > unit_hours:
                    continue
                best = min(best, float(shifts_load(by, shifts, units).load_per_unit.max()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_proposed_shifts_are_optimal_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    by = rng.gamma(2.0, 1.0, 24) * (1 + 2 * np.exp(-((np.arange(24) - 18) ** 2) / 8))
    plan = propose_shifts(by, n_shifts=2, unit_hours=40, min_hours=6, max_hours=18)
    assert plan.unit_hours <= 40
    assert float(plan.load_per_unit.max()) == pytest.approx(_brute_force(by, 2, 40, 6, 18))
    assert sum(s.minutes for s in plan.shifts) == 24 * 60


def test_proposal_beats_equal_shifts_on_the_demo():
    inc = gpd.read_file(DEMO, layer="incidents")
    by = hot_times(inc).by_hour
    today = shifts_load(by, parse_shifts("08:00-16:00,16:00-24:00,00:00-08:00"), [3, 3, 3])
    proposed = propose_shifts(by, n_shifts=3, unit_hours=today.unit_hours)
    assert proposed.unit_hours <= today.unit_hours
    assert proposed.peak_pressure < today.peak_pressure
    with pytest.raises(InputError, match="n_shifts"):
        propose_shifts(by, n_shifts=7)
    with pytest.raises(InputError, match="cannot cover"):
        propose_shifts(by, n_shifts=2, max_hours=8)


def test_cli_hot_times_json_and_errors(capsys):
    from cli import main
    assert main(["hot-times", str(DEMO), "--station", "S01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["by_hour"]) == 24 and len(out["hour_of_week"]) == 168
    assert sum(out["hour_of_week"]) == pytest.approx(out["incidents"])
    assert out["scope"] == "station S01" and out["peaks"] and out["warnings"] == []
    assert out["shifts"]["proposed"]["peak_pressure"] <= out["shifts"]["today"]["peak_pressure"]
    assert main(["hot-times", str(DEMO), "--station", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["hot-times", str(DEMO), "--units", "3,x"]) == 2
    assert main(["hot-times", str(DEMO), "--today", "8-16"]) == 2


def test_patrol_page_shows_the_week_by_hour_chart_and_shift_table(monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(DEMO))
    monkeypatch.setenv("GRIDPATROL_PAGE", "patrol")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception and not at.error
    (exp,) = [e for e in at.expander if e.label.startswith("警情时段分布")]
    assert [c.type for c in exp.children.values()].count("vega_lite_chart") == 1
    table = exp.dataframe[0].value
    assert list(table.columns) == ["方案", "班次 x 在岗组数", "组·小时/天", "最忙时段每组负荷 (倍于平均)"]
    assert len(table) == 2 and table.iloc[1, 3] <= table.iloc[0, 3]
