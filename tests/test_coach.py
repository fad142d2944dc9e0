"""The coach page (AppTest): roster, one athlete's history charts, two sessions compared."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from formcheck.store.access import FailureRecord, SessionRecord, VideoRecord, record_failure
from formcheck.store.access import record_session as store_session
from formcheck.store.db import StoreError, default_url, open_store
from formcheck.ui.coach import database_url


def _report(cadence: float, unc: float, overstride: float) -> dict:
    return {
        "metrics": {
            "cadence_spm": {"value": cadence, "uncertainty": unc, "unit": "steps/min",
                            "status": "ok", "reason": "", "n_strides": 10},
            "overstride_pct_leg": {"value": overstride, "uncertainty": 1.0,
                                   "unit": "% leg length", "status": "ok", "reason": ""},
        },
        "findings": {"items": [
            {"id": "overstride_pct_leg", "kind": "metric", "rank": 1,
             "title": "Foot landing ahead of the hip is high", "level": "act",
             "severity": "high", "side": "both", "confidence": "high",
             "metrics": ["overstride_pct_leg"],
             "observations": [{"metric": "overstride_pct_leg", "level": "act"}]},
        ] if overstride > 15 else []},
    }


@pytest.fixture()
def squad_db(tmp_path):
    store = open_store(default_url(tmp_path))
    d = dt.date
    sessions = [("Ann", d(2025, 3, 1), 160.0, 2.0, 18.0), ("Ann", d(2025, 3, 20), 161.0, 2.0, 17.5),
                ("Ann", d(2025, 4, 9), 172.0, 2.0, 9.0), ("Ben", d(2025, 3, 5), 175.0, 3.0, 6.0)]
    for name, date, cadence, unc, overstride in sessions:
        key = f"{name}{date}"
        store_session(store, SessionRecord(
            key=key, athlete=name, date=date, folder=str(tmp_path / key),
            videos=(VideoRecord("side", "side", f"/in/{key}.mp4", "0" * 64),),
            report=_report(cadence, unc, overstride)))
    record_failure(store, FailureRecord("f1", "Cy", "2025-03-01", "Cy/2025-03-01/side.mp4",
                                        "cannot open side.mp4 as a video"))
    store.close()
    return tmp_path


def _page(db: str | None = None) -> None:
    from formcheck.ui.coach import coach_page

    coach_page(db)


def test_roster_history_and_comparison(squad_db):
    at = AppTest.from_function(_page, kwargs={"db": str(squad_db)}, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    roster = at.dataframe[0].value
    assert roster["athlete"].tolist() == ["Ann", "Ben"]
    assert roster["sessions"].tolist() == [3, 1]
    assert "1 clips could not be analysed" in at.expander[0].label
    assert at.selectbox(key="coach_athlete").value == "Ann"
    assert len(at.get("vega_lite_chart")) == 2  # cadence and overstride over sessions
    # the two latest sessions side by side: cadence +11 (> sqrt(2^2+2^2)) is real
    compare = at.dataframe[-1].value.set_index("metric")
    assert compare.loc["cadence_spm", "verdict"] == "increase"
    assert compare.loc["overstride_pct_leg", "verdict"] == "decrease"
    # 17.5 -> 9.0 % leg length: towards the good band (<= 8); 161 -> 172 spm: inside 160-200.
    assert compare.loc["overstride_pct_leg", "change"].endswith("(decrease, towards the target)")
    assert compare.loc["cadence_spm", "change"].endswith("(increase, within the target)")
    # The charts shade the good range under the values.
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert any(layer.get("mark", {}).get("type") == "rect" for layer in spec["layer"]), spec
    assert "Foot landing ahead of the hip is high" in " ".join(m.value for m in at.markdown)
    # 'Every metric of every session' reads as a coach would: dates, one decimal, words.
    every = at.dataframe[1].value
    assert list(every.columns) == ["date", "metric", "value", "±", "unit", "status", "flag",
                                   "change"]
    assert every["date"].iloc[0] == "2025-03-01", every["date"].tolist()
    assert all(v == "-" or (v.count(".") == 1 and len(v.split(".")[1]) == 1)
               for v in every["value"]), every["value"].tolist()
    assert set(every["status"]) <= {"measured", "approximate", "not measured"}
    assert "work on this" in set(every["flag"]) and "act" not in set(every["flag"])
    # an earlier pair: a change of 1 spm is within the noise
    at.selectbox(key="coach_a").set_value("2025-03-01")
    at.selectbox(key="coach_b").set_value("2025-03-20")
    at.run()
    compare = at.dataframe[-1].value.set_index("metric")
    assert compare.loc["cadence_spm", "verdict"] == "no clear change"
    # one-session athlete: nothing to compare, said plainly
    at.selectbox(key="coach_athlete").set_value("Ben")
    at.run()
    assert not at.exception
    assert any("one session so far" in i.value for i in at.info)


def test_bad_source_is_one_clear_message(tmp_path):
    at = AppTest.from_function(_page, kwargs={"db": str(tmp_path)}, default_timeout=60)
    at.run()
    assert not at.exception
    assert "formcheck.db" in at.error[0].value
    with pytest.raises(StoreError):
        database_url(str(tmp_path / "nothing"))
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
