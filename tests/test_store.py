"""Results database: migrations, no duplicates, bound parameters, history verdicts, summaries."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import inspect, select

from formcheck.batch.summary import history_csv, history_html, squad_csv, squad_html
from formcheck.io.paths import slug
from formcheck.store.access import (
    FailureRecord,
    SessionRecord,
    VideoRecord,
    athlete_sessions,
    athlete_slug,
    completed,
    failures,
    latest_sessions,
    record_failure,
    record_session,
    roster,
    unique_slug,
)
from formcheck.store.db import StoreError, current_revision, head_revision, open_store
from formcheck.store.history import (
    MetricValue,
    SessionSummary,
    band_extent,
    combined_uncertainty,
    compare,
    compare_sessions,
    history_rows,
    target_direction,
)
from formcheck.store.models import Base, MetricRow, SessionRow

# ---------------------------------------------------------------- history verdicts (pure)


def _mv(value, unc, status="ok", unit="deg"):
    return MetricValue(value=value, uncertainty=unc, unit=unit, status=status)


def test_combined_uncertainty_is_root_sum_of_squares():
    assert combined_uncertainty(3.0, 4.0) == pytest.approx(5.0)
    assert combined_uncertainty(None, 4.0) is None
    assert combined_uncertainty(3.0, math.nan) is None


def test_change_smaller_than_uncertainty_is_no_clear_change():
    # sqrt(3^2 + 4^2) = 5: a change of 4.9 is within the noise
    change = compare(_mv(10.0, 3.0), _mv(14.9, 4.0))
    assert change.verdict == "no clear change" and not change.is_real
    assert change.delta == pytest.approx(4.9) and change.uncertainty == pytest.approx(5.0)
    assert compare(_mv(10.0, 3.0), _mv(5.1, 4.0)).verdict == "no clear change"
    assert compare(_mv(10.0, 3.0), _mv(15.0, 4.0)).verdict == "no clear change"  # == bound


def test_change_larger_than_uncertainty_is_real():
    up = compare(_mv(10.0, 3.0), _mv(15.1, 4.0))
    assert up.verdict == "increase" and up.is_real
    down = compare(_mv(170.0, 1.0), _mv(160.0, 2.0))
    assert down.verdict == "decrease" and down.delta == pytest.approx(-10.0)
    assert down.text("steps/min") == "-10.0 ± 2.2 steps/min (decrease)"


def test_a_real_change_says_whether_it_moved_towards_the_good_band():
    good = (0.0, 8.0)  # overstride: good <= 8 % leg length
    closer = compare(_mv(14.0, 1.0), _mv(10.0, 1.0), good)
    assert (closer.verdict, closer.target) == ("decrease", "towards the target")
    assert closer.text("%") == "-4.0 ± 1.4 % (decrease, towards the target)"
    assert compare(_mv(9.0, 1.0), _mv(13.0, 1.0), good).target == "away from the target"
    assert compare(_mv(2.0, 1.0), _mv(7.0, 1.0), good).target == "within the target"
    assert compare(_mv(10.0, 1.0), _mv(4.0, 1.0), good).target == "towards the target"
    # A two-sided band: crossing it from below to the same distance above is no progress.
    assert target_direction(155.0, 205.0, (160.0, 200.0)) == ""
    assert target_direction(155.0, 190.0, (160.0, 200.0)) == "towards the target"
    assert target_direction(170.0, 150.0, (160.0, math.inf)) == "away from the target"
    # No band, or no real change: nothing said about the target.
    assert compare(_mv(14.0, 1.0), _mv(10.0, 1.0)).target == ""
    assert compare(_mv(14.0, 3.0), _mv(13.0, 3.0), good).target == ""


def test_the_target_is_the_band_the_findings_used_for_that_session():
    from dataclasses import replace

    from formcheck.batch.summary import session_bands
    from formcheck.findings import default_rules

    bands = session_bands(default_rules())
    slow, fast = _summary(1, cadence_spm=(162.0, 1.0)), _summary(2, cadence_spm=(168.0, 1.0))
    # Without inputs the band is 160-200: 162 -> 168 stays inside it.
    rows = history_rows([slow, fast], bands)
    assert rows[-1].change.target == "within the target"
    # At 18 km/h (5 m/s) the band moves up by 12 spm to 172-212: both are below it.
    quick = replace(fast, treadmill_speed_kmh=18.0)
    assert bands(quick)["cadence_spm"] == (172.0, 212.0)
    rows = history_rows([slow, quick], bands)
    assert rows[-1].change.target == "towards the target"
    [(_, _, _, change)] = compare_sessions(slow, quick, bands)
    assert change.text("steps/min").endswith("(increase, towards the target)")


def test_the_good_band_stays_visible_when_every_value_is_outside_it():
    # Overstride (good <= 8) at 20 and 25: the band is shaded below 8, not cut to nothing.
    bottom, top = band_extent((-math.inf, 8.0), 19.0, 26.0)
    assert top == 8.0 and bottom < 8.0 - 0.2 * (26.0 - 8.0)
    assert band_extent((160.0, 200.0), 150.0, 170.0) == (160.0, 200.0)
    bottom, top = band_extent((15.0, math.inf), 5.0, 10.0)
    assert bottom == 15.0 and top > 15.0
    page = history_html("Ann", [_summary(1, overstride_pct_leg=(20.0, 1.0)),
                                _summary(2, overstride_pct_leg=(25.0, 1.0))])
    rect = page[page.index('class="good-band"'):].split(">")[0]
    assert float(rect.split('height="')[1].split('"')[0]) > 10.0, rect


def test_change_not_comparable_without_value_uncertainty_or_same_unit():
    assert compare(None, _mv(1.0, 1.0)).verdict == "first session"
    assert compare(_mv(None, None, "not_applicable"), _mv(1.0, 1.0)).verdict == "not comparable"
    assert compare(_mv(1.0, None), _mv(5.0, 1.0)).verdict == "not comparable"
    assert compare(_mv(1.0, 1.0, unit="cm"), _mv(5.0, 1.0)).verdict == "not comparable"
    low = compare(_mv(1.0, 0.5, "low_confidence"), _mv(5.0, 1.0))
    assert low.verdict == "increase"


def _summary(day: int, **metrics) -> SessionSummary:
    return SessionSummary(
        id=day, date=dt.date(2025, 1, day), folder=f"/x/{day}", views=("side",),
        metrics={k: _mv(*v) for k, v in metrics.items()},
    )


def test_history_rows_compare_with_the_last_session_that_measured_it():
    sessions = [
        _summary(20, cadence_spm=(175.0, 1.0)),
        _summary(1, cadence_spm=(170.0, 1.0), trunk_lean_deg=(8.0, 1.0)),
        _summary(10, trunk_lean_deg=(8.5, 1.0)),
    ]
    rows = history_rows(sessions)
    got = [(r.date.day, r.metric, r.change.verdict) for r in rows]
    assert got == [
        (1, "cadence_spm", "first session"),
        (1, "trunk_lean_deg", "first session"),
        (10, "trunk_lean_deg", "no clear change"),
        (20, "cadence_spm", "increase"),
    ]
    # A metric not measured in a later session, nor before it, is 'not comparable', not a
    # 'first session' (a coach read that as a new measurement).
    later = history_rows([*sessions, _summary(25, vertical_oscillation_cm=(None, None,
                                                                          "not_applicable"))])
    assert (later[-1].metric, later[-1].change.verdict) == ("vertical_oscillation_cm",
                                                            "not comparable")
    side_by_side = compare_sessions(sessions[1], sessions[0])
    assert [(n, c.verdict) for n, _, _, c in side_by_side] == [
        ("cadence_spm", "increase"), ("trunk_lean_deg", "not comparable")]


# ---------------------------------------------------------------- database


def _report(cadence: float, unc: float, flagged: str | None = None) -> dict:
    metrics = {
        "cadence_spm": {"value": cadence, "uncertainty": unc, "unit": "steps/min",
                        "status": "ok", "reason": "", "n_strides": 10},
        "knee_valgus_fppa_deg": {"value": None, "uncertainty": None, "unit": "deg",
                                 "status": "not_applicable", "reason": "side view"},
        "overstride_pct_leg": {"value": 12.0, "uncertainty": 2.0, "unit": "% leg length",
                               "status": "low_confidence", "reason": "2 strides",
                               "left": 11.0, "right": 13.0, "source_view": "side"},
    }
    items = []
    if flagged:
        items.append({"id": flagged, "kind": "metric", "rank": 1, "title": "Low cadence",
                      "level": "act", "severity": "medium", "side": None, "confidence": "high",
                      "metrics": [flagged], "observations": [{"metric": flagged, "level": "act"}]})
    return {"metrics": metrics, "findings": {"items": items}}


def _record(name: str, day: int, key: str, cadence: float = 170.0, unc: float = 2.0,
            flagged: str | None = None) -> SessionRecord:
    return SessionRecord(
        key=key, athlete=name, date=dt.date(2025, 1, day), folder=f"/out/{key}",
        videos=(VideoRecord("side", "side", f"/in/{key}.mp4", key * 4),),
        report=_report(cadence, unc, flagged), formcheck_version="0.1.0", seconds=1.0,
    )


@pytest.fixture()
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    yield s
    s.close()


def test_schema_is_migrated_versioned_and_indexed(store, tmp_path):
    assert current_revision(store.engine) == head_revision() == "0001"
    insp = inspect(store.engine)
    assert {"athletes", "sessions", "videos", "metrics", "findings", "failures",
            "alembic_version"} <= set(insp.get_table_names())
    indexed = {tuple(ix["column_names"]) for ix in insp.get_indexes("sessions")}
    assert {("athlete_id",), ("date",), ("athlete_id", "date")} <= indexed
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("sessions")}
    assert {("key",), ("athlete_id", "date")} <= uniques
    # the migration creates exactly what the models describe
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    # opening again is a no-op; a read-only open of an empty database is refused
    open_store(f"sqlite:///{tmp_path / 'r.db'}").close()
    with pytest.raises(StoreError, match="formcheck batch"):
        open_store(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)


def test_bad_database_url_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="SQLAlchemy URL"):
        open_store("nosuchdialect://x")
    (tmp_path / "r.txt").write_text("a file, not a folder")
    with pytest.raises(StoreError, match="cannot create"):
        open_store(f"sqlite:///{tmp_path / 'r.txt' / 'x.db'}")


def test_record_session_twice_gives_one_row(store):
    rec = _record("Ann", 10, "k1")
    record_session(store, rec)
    record_session(store, rec)
    with store.sessions() as s:
        assert s.scalar(select(SessionRow.id).where(SessionRow.key == "k1")) is not None
        assert len(s.scalars(select(SessionRow)).all()) == 1
        assert len(s.scalars(select(MetricRow)).all()) == 3
    # new content for the same athlete and date replaces the old session
    record_session(store, _record("Ann", 10, "k2", cadence=180.0))
    assert completed(store) == {"k2": "/out/k2"}
    [only] = athlete_sessions(store, "Ann")
    assert only.metrics["cadence_spm"].value == 180.0


def test_failures_are_upserted_and_cleared_by_success(store):
    fail = FailureRecord("k9", "Ann", "2025-01-10", "Ann/2025-01-10/side.mp4", "cannot open")
    record_failure(store, fail)
    record_failure(store, fail)
    [f] = failures(store)
    assert f.attempts == 2 and f.message == "cannot open"
    record_session(store, _record("Ann", 10, "k1"))
    assert failures(store) == []


def test_names_are_bound_parameters_not_sql(store):
    evil = "Robert'); DROP TABLE sessions;--"
    record_session(store, _record(evil, 10, "k1"))
    record_session(store, _record("O'Brien", 11, "k2"))
    assert [e.name for e in roster(store)] == ["O'Brien", evil]
    assert athlete_sessions(store, evil)[0].date == dt.date(2025, 1, 10)
    assert athlete_sessions(store, "' OR '1'='1") == []


def test_athlete_folders_are_unique_and_safe(store):
    first = athlete_slug(store, "Jane Doe")
    second = athlete_slug(store, "jane doe")  # may give the same slug: kept apart anyway
    third = athlete_slug(store, "Jane  Doe!")
    assert len({first.lower(), second.lower(), third.lower()}) == 3  # one folder each (macOS)
    assert athlete_slug(store, "Jane Doe") == first  # the same athlete keeps its folder
    assert "/" not in athlete_slug(store, "../../etc") and athlete_slug(store, "..") != ".."
    assert unique_slug("a", [slug("a"), f"{slug('a')}-2".upper()]) == f"{slug('a')}-3"
    with pytest.raises(StoreError):
        athlete_slug(store, "   ")


def test_roster_latest_history_and_summaries(store):
    record_session(store, _record("Ann", 1, "a1", cadence=160.0, unc=2.0, flagged="cadence_spm"))
    record_session(store, _record("Ann", 20, "a2", cadence=161.0, unc=2.0))
    record_session(store, _record("Ann", 30, "a3", cadence=175.0, unc=2.0))
    record_session(store, _record("<b>Bo</b>", 5, "b1", cadence=170.0))
    entries = roster(store)
    assert [(e.name, e.n_sessions, e.last_date.day) for e in entries] == [
        ("<b>Bo</b>", 1, 5), ("Ann", 3, 30)]
    latest = latest_sessions(store)
    assert [(e.name, s.date.day) for e, s in latest] == [("<b>Bo</b>", 5), ("Ann", 30)]
    ann = athlete_sessions(store, "Ann")
    assert ann[0].metrics["cadence_spm"].level == "act" and ann[0].flags == {"act": 1, "watch": 0}
    lines = history_csv("Ann", ann).splitlines()
    assert lines[0].endswith(",verdict,target")
    cadence = [line.split(",")[-2:] for line in lines if ",cadence_spm," in line]
    # Cadence's good band is 160-200: 161 -> 175 is a real increase inside it.
    assert cadence == [["first session", ""], ["no clear change", ""],
                       ["increase", "within the target"]]
    page = history_html("Ann", ann)
    assert "no clear change" in page and "<svg" in page
    assert "(increase, within the target)" in page
    # The cadence chart shades its good band (160-200 steps/min).
    assert page.count('class="good-band"') >= 1
    table = squad_csv(latest)
    assert table.splitlines()[0].startswith("athlete,date,sessions,views,act,watch,cadence_spm,")
    assert "knee_valgus_fppa_deg" not in table  # nobody measured it
    html = squad_html(latest, failures(store))
    assert "<b>Bo</b>" not in html and "&lt;b&gt;Bo&lt;/b&gt;" in html


def test_history_pages_say_given_for_an_echoed_input_and_plain_level_words():
    from dataclasses import replace

    speed = replace(_mv(3.3, None, unit="m/s"), reason="given by the user")
    flagged = replace(_mv(20.0, 1.0, unit="% leg length"), level="act")
    page = history_html("Ann", [SessionSummary(
        id=1, date=dt.date(2025, 1, 1), folder="/x/1", views=("side",),
        metrics={"speed_m_s": speed, "overstride_pct_leg": flagged})])
    assert 'title="given"' in page and 'title="measured; flagged: work on this"' in page


def test_a_flagged_two_sided_metric_shows_its_sides_on_the_pages():
    """A valgus right knee beside a varus left one averages 1.9 deg: the flagged cell says so."""
    from dataclasses import replace

    fppa = replace(_mv(1.9, 7.0), level="watch", left=-5.8, right=9.7)
    quiet = replace(_mv(30.0, 1.0), left=29.0, right=31.0)  # not flagged: mean and spread only
    page = history_html("Ann", [_summary(1, cadence_spm=(170.0, 1.0)),
                                SessionSummary(id=2, date=dt.date(2025, 1, 2), folder="/x/2",
                                               views=("rear",),
                                               metrics={"knee_valgus_fppa_deg": fppa,
                                                        "knee_flexion_ic_deg": quiet})])
    assert "1.9 ± 7.0 (L -5.8, R 9.7)" in page
    assert "30.0 ± 1.0<" in page and "L 29.0" not in page


def test_csv_cells_never_become_formulas(store):
    record_session(store, _record("=HYPERLINK(\"x\")", 1, "f1"))
    table = squad_csv(latest_sessions(store))
    assert "'=HYPERLINK" in table
