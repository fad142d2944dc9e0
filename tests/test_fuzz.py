"""Fuzzing the entry points that read user files: every failure is formcheck's own error.

Random bytes and mutations of valid files are fed to opening and decoding a
video (``probe_video`` + ``iter_frames``), to loading tracks
(``load_tracks``), JSON and reports (``load_json``, ``load_report``) and to
the rules loader (``parse_rules``, ``parse_rules_toml``); safe paths are
checked as a property. The process must survive and anything raised must be a
:class:`~formcheck.errors.FormcheckError`. Example counts are bounded and the
generation is derandomised, so the run is fast and repeatable.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formcheck.errors import FormcheckError, RulesError, TracksFileError, UnsafePathError
from formcheck.findings import Rules, parse_rules, parse_rules_toml
from formcheck.io.paths import safe_child
from formcheck.io.tracks import load_json, load_report, load_tracks, save_json, save_tracks
from formcheck.io.video import iter_frames, probe_video
from tests.fixtures.corpus import encode

DEEP = int(os.environ.get("FORMCHECK_FUZZ_EXAMPLES", "0"))
"""Set FORMCHECK_FUZZ_EXAMPLES=2000 for a deep, randomised run; the suite runs 60, fixed."""
FUZZ = settings(
    max_examples=DEEP or 60,
    deadline=None,
    database=None,
    derandomize=not DEEP,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def _mutate(data: st.DataObject, seed: bytes) -> bytes:
    """Overwrite, insert and delete a few bytes, then maybe truncate."""
    out = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 8), label="edits")):
        if not out:
            break
        at = data.draw(st.integers(0, len(out) - 1), label="at")
        kind = data.draw(st.sampled_from(["set", "insert", "delete", "zero-run"]), label="kind")
        if kind == "set":
            out[at] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del out[at : at + data.draw(st.integers(1, 64))]
        else:
            n = data.draw(st.integers(1, 256))
            out[at : at + n] = bytes(len(out[at : at + n]))
    if data.draw(st.booleans(), label="truncate"):
        out = out[: data.draw(st.integers(0, len(out)), label="length")]
    return bytes(out)


# ---------------------------------------------------------------- video


@pytest.fixture(scope="session")
def seed_clips(fuzz_dir: Path) -> tuple[bytes, bytes]:
    """A tiny valid H.264 MP4 (12 noisy 64x48 frames), index last and index first.

    With the index first (``faststart``), cut and damaged copies still open,
    so the fuzzing reaches the decoder, not only the container parser.
    """
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(12)]
    return (
        encode(fuzz_dir / "seed.mp4", frames, 30.0).read_bytes(),
        encode(fuzz_dir / "seed-faststart.mp4", frames, 30.0, faststart=True).read_bytes(),
    )


def _open_and_decode(path: Path) -> int:
    """Probe and decode every frame; the number of frames decoded."""
    info = probe_video(path)
    return sum(1 for _ in iter_frames(info, max_long_side=64))


def test_seed_clips_decode(seed_clips: tuple[bytes, bytes], fuzz_dir: Path) -> None:
    for seed in seed_clips:
        assert _open_and_decode(_write(fuzz_dir, seed, ".mp4")) == 12


@FUZZ
@given(blob=st.binary(min_size=1, max_size=4096))
def test_random_bytes_as_video(fuzz_dir: Path, blob: bytes) -> None:
    path = _write(fuzz_dir, blob, ".mp4")
    with pytest.raises(FormcheckError):
        _open_and_decode(path)


@FUZZ
@given(data=st.data())
def test_mutated_video(
    fuzz_dir: Path, seed_clips: tuple[bytes, bytes], data: st.DataObject
) -> None:
    seed = seed_clips[data.draw(st.integers(0, 1), label="seed")]
    path = _write(fuzz_dir, _mutate(data, seed), ".mp4")
    with contextlib.suppress(FormcheckError):
        _open_and_decode(path)


# ---------------------------------------------------------------- tracks


@pytest.fixture(scope="session")
def seed_tracks(fuzz_dir: Path) -> bytes:
    """A small valid tracks file."""
    from tests.fixtures.runner import Runner, make_runner

    path = fuzz_dir / "seed.nc"
    save_tracks(make_runner(Runner(duration_s=1.0, fps=30.0)), path)
    return path.read_bytes()


def test_seed_tracks_load(seed_tracks: bytes, fuzz_dir: Path) -> None:
    assert load_tracks(_write(fuzz_dir, seed_tracks, ".nc")).sizes["time"] == 30


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@FUZZ
@given(blob=st.binary(max_size=4096))
def test_random_bytes_as_tracks(fuzz_dir: Path, blob: bytes) -> None:
    with pytest.raises(TracksFileError):
        load_tracks(_write(fuzz_dir, blob, ".nc"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_mutated_tracks(fuzz_dir: Path, seed_tracks: bytes, data: st.DataObject) -> None:
    path = _write(fuzz_dir, _mutate(data, seed_tracks), ".nc")
    try:
        ds = load_tracks(path)
    except TracksFileError:
        return
    assert isinstance(ds, xr.Dataset)


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_foreign_netcdf_files(fuzz_dir: Path, data: st.DataObject) -> None:
    """Well-formed netCDF that is not a formcheck tracks file (wrong variables, types)."""
    from tests.fixtures.runner import Runner, make_runner

    ds = make_runner(Runner(duration_s=0.5, fps=20.0))
    change = data.draw(
        st.sampled_from(["drop", "strings", "attrs", "time", "dims", "empty"]), label="change"
    )
    if change == "drop":
        ds = ds.drop_vars(data.draw(st.sampled_from(sorted(ds.data_vars)), label="var"))
    elif change == "strings":
        ds = ds.assign(confidence=ds["confidence"].astype(str))
    elif change == "attrs":
        ds.attrs = {k: v for k, v in ds.attrs.items() if data.draw(st.booleans(), label=k)}
    elif change == "time":
        t = ds["time"].values.copy()
        t[data.draw(st.integers(0, t.size - 1), label="i")] = data.draw(
            st.floats(allow_nan=True), label="t"
        )
        ds = ds.assign_coords(time=t)
    elif change == "dims":
        ds = ds.rename({"keypoints": "joints"})
    else:
        ds = xr.Dataset({"x": ("n", np.arange(data.draw(st.integers(0, 3))))})
    path = fuzz_dir / f"foreign-{change}.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with contextlib.suppress(TracksFileError):
        load_tracks(path)


# ---------------------------------------------------------------- JSON and reports


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="session")
def seed_report() -> dict[str, Any]:
    video = {"file": "a.mp4", "width": 640, "height": 360, "frames": 90, "duration_s": 3.0,
             "fps": 30.0, "analysed_width": 640, "analysed_height": 360, "warnings": []}
    return {"schema_version": "1.0", "video": video, "metrics": {},
            "options": {"view": "auto", "capture_fps": None, "height_m": 1.8,
                        "treadmill_speed_kmh": None}}


def test_seed_report_loads(fuzz_dir: Path, seed_report: dict[str, Any]) -> None:
    path = fuzz_dir / "seed-report.json"
    save_json(path, seed_report)
    assert load_report(path)["options"]["height_m"] == 1.8


@FUZZ
@given(blob=st.binary(max_size=2048))
def test_random_bytes_as_json_and_report(fuzz_dir: Path, blob: bytes) -> None:
    path = _write(fuzz_dir, blob, ".json")
    with contextlib.suppress(TracksFileError):
        load_json(path)
    with contextlib.suppress(TracksFileError):
        _check_loaded_report(load_report(path))


@FUZZ
@given(data=st.data())
def test_mutated_report(fuzz_dir: Path, seed_report: dict[str, Any], data: st.DataObject) -> None:
    report = copy.deepcopy(seed_report)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        sections = [report, *(report[k] for k in ("video", "options")
                              if isinstance(report.get(k), dict))]
        section = data.draw(st.sampled_from(sections), label="section")
        key = data.draw(st.sampled_from([*section.keys(), "extra"]), label="key")
        if data.draw(st.booleans(), label="delete"):
            section.pop(key, None)
        else:
            section[key] = data.draw(JSON, label="value")
    path = _write(fuzz_dir, json.dumps(report).encode(), ".json")
    with contextlib.suppress(TracksFileError):
        _check_loaded_report(load_report(path))


def _check_loaded_report(report: dict[str, Any]) -> None:
    """What load_report promises: the fields front ends use have usable types."""
    video, options = report["video"], report["options"]
    assert isinstance(video["file"], str)
    for key in ("width", "height", "frames", "duration_s", "fps"):
        assert isinstance(video[key], int | float) and not isinstance(video[key], bool)
    assert options["view"] in ("auto", "side", "rear", "front")
    for key in ("capture_fps", "height_m", "treadmill_speed_kmh"):
        assert options[key] is None or options[key] > 0


# ---------------------------------------------------------------- rules


@pytest.fixture(scope="session")
def rules_text() -> tuple[str, str]:
    pkg = resources.files("formcheck")
    return (
        pkg.joinpath("rules.toml").read_text(encoding="utf-8"),
        pkg.joinpath("guidance.toml").read_text(encoding="utf-8"),
    )


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into nested dicts and lists."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@FUZZ
@given(data=st.data())
def test_mutated_rules(rules_text: tuple[str, str], data: st.DataObject) -> None:
    docs = [tomllib.loads(rules_text[0]), tomllib.loads(rules_text[1])]
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        doc = docs[data.draw(st.integers(0, 1), label="doc")]
        path = data.draw(st.sampled_from(_paths(doc)), label="path")
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON, label="value")
    with contextlib.suppress(RulesError):
        assert isinstance(parse_rules(docs[0], docs[1]), Rules)


@FUZZ
@given(data=st.data())
def test_mutated_rules_text(rules_text: tuple[str, str], data: st.DataObject) -> None:
    which = data.draw(st.integers(0, 1), label="which")
    texts = list(rules_text)
    raw = texts[which].encode("utf-8")
    texts[which] = _mutate(data, raw).decode("utf-8", "replace")
    with contextlib.suppress(RulesError):
        parse_rules_toml(*texts)


# ---------------------------------------------------------------- paths


@FUZZ
@given(parts=st.lists(st.text(max_size=12), min_size=1, max_size=4))
def test_safe_child_stays_inside(fuzz_dir: Path, parts: list[str]) -> None:
    base = fuzz_dir / "base"
    try:
        child = safe_child(base, *parts)
    except UnsafePathError:
        return
    resolved, root = child.resolve(), base.resolve()
    assert resolved != root and resolved.is_relative_to(root)
