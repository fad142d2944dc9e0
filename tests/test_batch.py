"""Batch runs: inputs, safe paths, atomic folders, a squad with a corrupt clip, kill + resume."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.batch_clips import SQUAD, SquadClip, copy_squad, render_squad

from formcheck.batch.inputs import (
    Defaults,
    InputError,
    clip_from_folder,
    clips_from_manifest,
    group_sessions,
    manifest_columns,
    parse_date,
    view_from_words,
)
from formcheck.cli import main
from formcheck.errors import FormcheckError
from formcheck.io.batch_files import atomic_dir, find_videos, read_manifest, remove_stale_temp
from formcheck.io.paths import safe_child, slug

# ---------------------------------------------------------------- safe paths


# These check the contract of safe_child/slug only (another branch writes the
# same contract; whichever version is kept must pass them).

@pytest.mark.parametrize(
    "part", ["..", "../x", "a/../../x", "../../../../etc/passwd", "/etc/passwd", "a\x00b"]
)
def test_safe_child_refuses_escapes(tmp_path, part):
    base = tmp_path / "base"
    base.mkdir()
    with pytest.raises(FormcheckError):
        safe_child(base, part)
    with pytest.raises(FormcheckError):
        safe_child(base, "ok", part)


def test_safe_child_refuses_a_link_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    base = tmp_path / "base"
    base.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(FormcheckError):
        safe_child(base, "link", "x.mp4")


def test_safe_child_joins_inside(tmp_path):
    got = safe_child(tmp_path, "a", "b", "c.mp4")
    assert got.resolve() == (tmp_path / "a" / "b" / "c.mp4").resolve()


@pytest.mark.parametrize(
    "name", ["Jane Doe", "../../etc", "..", ".", "Zoë Ñúñez", "a/b\\c", "x\x00y", "", ".hidden",
             "C:\\Windows", "<script>", "x" * 500],
)
def test_slug_is_one_plain_component(tmp_path, name):
    s = slug(name)
    assert s and s not in (".", "..") and "/" not in s and "\\" not in s and "\x00" not in s
    assert slug(name) == s  # deterministic
    assert safe_child(tmp_path, s).parent.resolve() == tmp_path.resolve()


# ---------------------------------------------------------------- inputs


def test_parse_date_forms_and_errors():
    for text in ("2025-03-14", "20250314", "2025_03_14", "2025.03.14"):
        assert parse_date(text) == dt.date(2025, 3, 14)
    for bad in ("14/03/2025", "2025-02-30", "march", ""):
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            parse_date(bad)


def test_view_from_words():
    assert view_from_words(["jane_side_01.mp4"]) == "side"
    assert view_from_words(["IMG_0001.MOV", "back"]) == "rear"
    assert view_from_words(["clip.mp4"], "front") == "front"
    assert view_from_words(["side_and_rear.mp4"]) == "auto"  # two views named: do not guess


def test_folder_layout_any_depth(tmp_path):
    d = Defaults(height_m=1.8)
    c = clip_from_folder(tmp_path, tmp_path / "club/u18/Jane Doe/2025-03-14/rear/IMG_1.mp4", d)
    assert (c.athlete, c.date, c.view) == ("Jane Doe", dt.date(2025, 3, 14), "rear")
    assert c.view_hint  # read from a name: a guess the clip can overrule
    assert c.height_m == 1.8
    side = Defaults(view="side")
    plain = clip_from_folder(tmp_path, tmp_path / "jane/2025-03-14/IMG_2.mp4", side)
    assert (plain.view, plain.view_hint) == ("side", False)  # the user's --view: not a guess
    direct = tmp_path / "tom"
    c = clip_from_folder(direct, direct / "20250314" / "side.mp4", d)
    assert (c.athlete, c.view) == ("tom", "side")
    with pytest.raises(InputError, match="athlete/YYYY-MM-DD"):
        clip_from_folder(tmp_path, tmp_path / "jane" / "clip.mp4", d)


def test_find_videos_skips_hidden_and_output(tmp_path):
    for rel in ("a/2025-01-01/x.MP4", "a/2025-01-01/.y.mp4", ".cache/z.mp4", "out/a/v.mp4",
                "a/2025-01-01/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert find_videos(tmp_path, exclude=[tmp_path / "out"]) == [tmp_path / "a/2025-01-01/x.MP4"]


def test_manifest_rows_paths_and_problems(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"x")
    (tmp_path.parent / "secret.mp4").write_bytes(b"x")
    text = (
        "Athlete;Date;View;Path;Height;Treadmill speed\n"
        "Jane;2025-03-14;side;clips/a.mp4;1.70;12\n"
        "Jane;2025-03-14;rear;../secret.mp4;;\n"
        "Tom;2025-03-14;;/etc/passwd;;\n"
        "Tom;2025-03-14;sideways;clips/a.mp4;;\n"
        "Tom;14/03/2025;side;clips/a.mp4;;\n"
        "Tom;2025-03-14;side;clips/missing.mp4;;\n"
        "Tom;2025-03-14;side;clips/a.mp4;17;\n"
        ";2025-03-14;side;clips/a.mp4;;\n"
    )
    (tmp_path / "m.csv").write_text(text, encoding="utf-8-sig")
    header, rows = read_manifest(tmp_path / "m.csv")
    clips, problems = clips_from_manifest(rows, header, tmp_path, Defaults(capture_fps=240.0))
    assert len(clips) == 1
    c = clips[0]
    assert (c.athlete, c.view, c.height_m, c.treadmill_speed_kmh, c.capture_fps) == (
        "Jane", "side", 1.7, 12.0, 240.0)
    assert c.path == (tmp_path / "clips" / "a.mp4").resolve()
    messages = [p.message for p in problems]
    assert len(messages) == 7
    assert "line 3" in messages[0] and "../secret.mp4" in messages[0] and "refused" in messages[0]
    assert "line 4" in messages[1] and "/etc/passwd" in messages[1] and "refused" in messages[1]
    assert "sideways" in messages[2]
    assert "YYYY-MM-DD" in messages[3]
    assert "no such clip" in messages[4]
    assert "height" in messages[5]
    assert "athlete" in messages[6]
    assert problems[0].athlete == "Jane" and problems[0].date == "2025-03-14"


def test_manifest_needs_its_columns():
    with pytest.raises(InputError, match="path"):
        manifest_columns(["athlete", "date", "view"])


def test_group_sessions_side_first(tmp_path):
    d = Defaults()
    clips = [
        clip_from_folder(tmp_path, tmp_path / rel, d)
        for rel in ("b/2025-01-01/rear.mp4", "b/2025-01-01/side.mp4", "a/2025-01-02/side.mp4",
                    "b/2025-01-02/side.mp4")
    ]
    sessions = group_sessions(clips)
    assert [(s.athlete, s.date.isoformat(), [c.view for c in s.clips]) for s in sessions] == [
        ("a", "2025-01-02", ["side"]),
        ("b", "2025-01-01", ["side", "rear"]),
        ("b", "2025-01-02", ["side"]),
    ]


# ---------------------------------------------------------------- atomic folders


def test_longest_sessions_start_first():
    from formcheck.batch.engines import longest_first
    from formcheck.batch.tasks import ClipTask, SessionTask

    def task(name, *seconds):
        clips = tuple(ClipTask(f"/{name}{i}.mp4", "side", name, duration_s=s)
                      for i, s in enumerate(seconds))
        return SessionTask(name, name, "2026-01-01", f"/out/{name}", clips)

    tasks = [task("a", 10.0), task("b", 30.0), task("c", float("nan")), task("d", 12.0, 12.0),
             task("e", 10.0)]
    order = [t.key for t in longest_first(tasks)]
    # Two clips of a session add up; an unreadable header counts 0; ties keep their order.
    assert order == ["b", "d", "a", "e", "c"]


def test_atomic_dir_replaces_only_on_success(tmp_path):
    dest = tmp_path / "s"
    with atomic_dir(dest) as tmp:
        (tmp / "report.json").write_text("1")
    assert (dest / "report.json").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_dir(dest) as tmp:
        (tmp / "report.json").write_text("2")
        raise RuntimeError("killed mid-write")
    assert (dest / "report.json").read_text() == "1"
    with atomic_dir(dest) as tmp:
        (tmp / "report.json").write_text("3")
    assert (dest / "report.json").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_remove_stale_temp(tmp_path):
    (tmp_path / "ann" / ".2025-01-10.tmp-abc").mkdir(parents=True)
    (tmp_path / "ann" / ".2025-01-11.old-abc").mkdir(parents=True)
    (tmp_path / "ann" / "2025-01-12").mkdir(parents=True)
    assert remove_stale_temp(tmp_path) == 2
    assert [p.name for p in (tmp_path / "ann").iterdir()] == ["2025-01-12"]


# ---------------------------------------------------------------- end to end (pose)


@pytest.fixture(scope="module")
def squad_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("squad")
    render_squad(root)
    return root


def _db(out: Path) -> sqlite3.Connection:
    return sqlite3.connect(out / "formcheck.db", timeout=30)


def _sessions(out: Path) -> list[tuple[str, str, str, str]]:
    with _db(out) as con:
        return con.execute(
            "SELECT a.name, s.date, s.key, s.folder FROM sessions s "
            "JOIN athletes a ON a.id = s.athlete_id ORDER BY a.name, s.date"
        ).fetchall()


@pytest.mark.slow
def test_squad_with_a_corrupt_clip(squad_dir, tmp_path, capsys):
    src = copy_squad(squad_dir, tmp_path / "in")
    out = tmp_path / "out"
    assert len(SQUAD) == 6 and sum(c.params is None for c in SQUAD) == 1
    code = main(["batch", str(src), "--out", str(out), "--workers", "2"])
    text = capsys.readouterr().out
    assert code == 1, text  # some video failed
    assert "5 videos analysed, 1 failed" in text
    sessions = _sessions(out)
    assert [(a, d) for a, d, _, _ in sessions] == [
        ("Ann", "2025-01-10"), ("Ann", "2025-02-14"), ("Ben", "2025-01-10"), ("Cy", "2025-01-10")]
    with _db(out) as con:
        fails = con.execute("SELECT athlete, date, source, message FROM failures").fetchall()
        views = con.execute(
            "SELECT v.label FROM videos v JOIN sessions s ON s.id = v.session_id "
            "ORDER BY s.date, v.label").fetchall()
        n_metrics = con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
        combined = con.execute(
            "SELECT m.name, m.source_view FROM metrics m JOIN sessions s ON s.id = m.session_id "
            "WHERE s.views = 'side,rear' AND m.name IN ('overstride_pct_leg', "
            "'knee_valgus_fppa_deg') ORDER BY m.name").fetchall()
    assert len(fails) == 1
    athlete, date, source, message = fails[0]
    assert (athlete, date, source) == ("Dee", "2025-01-10", "Dee/2025-01-10/side.mp4")
    assert "cannot open" in message and "side.mp4" in message
    assert "Dee/2025-01-10/side.mp4" in text and "cannot open" in text
    assert ("rear",) in views and n_metrics > 4 * 10
    assert combined == [("knee_valgus_fppa_deg", "rear"), ("overstride_pct_leg", "side")]
    for _, _, _, folder in sessions:
        report = json.loads((Path(folder) / "report.json").read_text())
        assert report["metrics"]["cadence_spm"]["status"] in ("ok", "low_confidence")
        assert Path(folder).is_relative_to(out.resolve())
    # Ann's two sessions: the cadence went up by 14 spm, far more than its uncertainty
    hist = (out / "athletes" / slug("Ann") / "history.csv").read_text().splitlines()
    cadence = [line for line in hist if ",cadence_spm," in line]
    assert cadence[0].endswith("first session,") and ",increase," in cadence[1], cadence
    squad = (out / "squad.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in squad[1:]] == ["Ann", "Ben", "Cy"]
    html = (out / "squad.html").read_text()
    assert "Not analysed (1)" in html and "Dee" in html
    # Plain metric names for the coach; the key stays in the tooltip.
    assert "<th title='cadence_spm'>Cadence<br>" in html and ">work on this</th>" in html
    # Ann's history page links back to the squad and each date to its session's report.
    import re

    page_path = out / "athletes" / slug("Ann") / "history.html"
    links = re.findall(r"href='([^']+)'", page_path.read_text())
    assert any(h.endswith("squad.html") for h in links), links
    assert sum(h.endswith("report.html") for h in links) >= 2, links
    assert all((page_path.parent / h).is_file() for h in links), links

    # the same command again: everything done is skipped, the corrupt clip retried
    code = main(["batch", str(src), "--out", str(out), "--workers", "2"])
    text = capsys.readouterr().out
    assert code == 1 and "0 videos analysed, 1 failed, 5 skipped" in text
    assert _sessions(out) == sessions

    # a manifest into the same database: paths leaving the manifest's folder are refused
    # and recorded; a done clip listed with the view its name only suggested is analysed
    # again (a name's view gives way to a confident detection, a listed view does not)
    (src / "m.csv").write_text(
        "athlete,date,view,path\n"
        "Ann,2025-02-14,side,Ann/2025-02-14/side.mp4\n"
        "Eve,2025-03-01,side,../in/Ann/2025-02-14/side.mp4\n"
        "Eve,2025-03-02,side,/etc/hostname\n"
    )
    before = {p for p in tmp_path.rglob("*")}
    code = main(["batch", str(src / "m.csv"), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 1 and "1 videos analysed, 2 failed, 0 skipped" in text
    with _db(out) as con:
        eve = con.execute(
            "SELECT source, message FROM failures WHERE athlete = 'Eve' ORDER BY source").fetchall()
    assert len(eve) == 2
    assert "line 3" in eve[0][0] and "refused" in eve[0][1] and "../in/Ann" in eve[0][1]
    assert "line 4" in eve[1][0] and "refused" in eve[1][1] and "/etc/hostname" in eve[1][1]
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(p.is_relative_to(out) for p in created), created
    # The same sessions in the same folders; only Ann's listed clip is a new job (new key).
    after = _sessions(out)
    assert [(a, d, f) for a, d, _, f in after] == [(a, d, f) for a, d, _, f in sessions]
    changed = [new[:2] for new, old in zip(after, sessions, strict=True) if new[2] != old[2]]
    assert changed == [("Ann", "2025-02-14")], changed


KILL_SQUAD = tuple(c for c in SQUAD if c.athlete != "Dee")[2:]  # 3 clips, 3 sessions


@pytest.mark.slow
def test_killed_batch_resumes_each_result_once(squad_dir, tmp_path, capsys):
    src = tmp_path / "in"
    for clip in KILL_SQUAD:
        rel = Path(clip.athlete) / clip.date / clip.name
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes((squad_dir / rel).read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "formcheck.cli", "batch", str(src), "--out", str(out),
           "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    first: list = []
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "formcheck.db").exists():
            try:
                first = _sessions(out)
            except sqlite3.OperationalError:  # schema not created yet
                first = []
            if first:
                break
        time.sleep(0.1)
    still_running = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert first, f"no session was recorded: {proc.stderr.read().decode()[-2000:]}"
    assert still_running, "the batch finished before it could be killed; the test proves nothing"
    killed_at = _sessions(out)
    assert 1 <= len(killed_at) < 3

    code = main(["batch", str(src), "--out", str(out), "--workers", "2"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert f"{len(killed_at)} skipped" in text
    final = _sessions(out)
    assert len(final) == 3 and len({k for _, _, k, _ in final}) == 3
    assert set(killed_at) <= set(final)
    with _db(out) as con:
        dup = con.execute(
            "SELECT session_id, name, COUNT(*) FROM metrics GROUP BY session_id, name "
            "HAVING COUNT(*) > 1").fetchall()
        videos = con.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM videos").fetchone()
    assert dup == [] and videos == (3, 3)
    athletes = out / "athletes"
    leftovers = [p for p in athletes.rglob(".*") if p.is_dir()]
    assert leftovers == []
    for _, _, _, folder in final:
        assert (Path(folder) / "report.json").is_file()
    dated = sorted(p.relative_to(athletes).as_posix() for p in athletes.glob("*/*") if p.is_dir())
    expected = (("Ann", "2025-02-14"), ("Ben", "2025-01-10"), ("Cy", "2025-01-10"))
    assert dated == sorted(f"{slug(a)}/{d}" for a, d in expected)


def test_squad_clip_list_is_what_the_tests_assume():
    assert isinstance(SQUAD[0], SquadClip)
    assert [(c.athlete, c.date) for c in KILL_SQUAD] == [
        ("Ann", "2025-02-14"), ("Ben", "2025-01-10"), ("Cy", "2025-01-10")]


def test_cli_db_url_and_unusable_inputs_without_pose(tmp_path, capsys):
    src = tmp_path / "in"
    (src / "jane").mkdir(parents=True)
    (src / "jane" / "clip.mp4").write_bytes(b"not a video")  # no date folder
    out, db = tmp_path / "out", tmp_path / "elsewhere" / "club.db"
    code = main(["batch", str(src), "--out", str(out), "--db", f"sqlite:///{db}", "-q"])
    assert code == 1
    assert not (out / "formcheck.db").exists() and db.is_file()
    with sqlite3.connect(db) as con:
        [(source, message)] = con.execute("SELECT source, message FROM failures").fetchall()
    assert source == "jane/clip.mp4" and "athlete/YYYY-MM-DD/clip.mp4" in message
    assert (out / "squad.html").is_file()
    capsys.readouterr()
    assert main(["batch", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert main(["batch", str(src), "--out", str(out), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert "no such folder or manifest" in err and "--engine must be local or ray" in err


def test_pool_workers_keep_opencv_to_one_thread_when_several_share_the_machine(
    monkeypatch,
) -> None:
    import cv2

    from formcheck.batch.engines import _worker_init

    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep this process's Ctrl-C
    before = cv2.getNumThreads()
    try:
        _worker_init(False)  # a single worker keeps OpenCV's pool
        assert cv2.getNumThreads() == before > 1
        _worker_init(True)
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


@pytest.mark.slow
def test_batch_without_annotated_videos(squad_dir, tmp_path, capsys):
    src = tmp_path / "in"
    for clip in KILL_SQUAD[:2]:
        rel = Path(clip.athlete) / clip.date / clip.name
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes((squad_dir / rel).read_bytes())
    out = tmp_path / "out"
    code = main(["batch", str(src), "--out", str(out), "--workers", "1", "--no-video"])
    text = capsys.readouterr().out
    assert code == 0, text
    folders = [Path(f) for *_, f in _sessions(out)]
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "report.json").is_file() and (folder / "report.html").is_file()
        assert not list(folder.rglob("annotated.mp4"))
        assert "No annotated video" in (folder / "report.html").read_text()
