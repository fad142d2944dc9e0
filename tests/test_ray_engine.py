"""The Ray engine (a local cluster with 2 CPUs) gives the same results as the local pool."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fixtures.batch_clips import SMALL, SquadClip, render_squad

from formcheck.batch.engines import EngineError, EngineOptions, run_ray
from formcheck.batch.runner import BatchConfig, run_batch
from formcheck.store.access import athlete_sessions, roster
from formcheck.store.db import default_url, open_store
from formcheck.synth import SynthParams

pytestmark = pytest.mark.slow

CLIPS = (
    # 6 s: enough steps (10 or more) for an ok cadence, which the test checks.
    SquadClip("Ann", "2025-01-10", "side.mp4",
              SynthParams(view="side", overstride_pct_leg=14.0, cadence_spm=162.0,
                          **{**SMALL, "duration_s": 6.0})),
    SquadClip("Ben", "2025-01-10", "rear.mp4",
              SynthParams(view="rear", style="b", valgus_left_deg=8.0, **SMALL)),
)


def _metrics(out: Path) -> dict:
    store = open_store(default_url(out), migrate=False)
    try:
        return {
            (e.name, s.date.isoformat(), name): (m.value, m.uncertainty, m.status)
            for e in roster(store)
            for s in athlete_sessions(store, e.name)
            for name, m in s.metrics.items()
        }
    finally:
        store.close()


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_ray_local_cluster_matches_local_engine(tmp_path):
    import ray  # in the test extra: missing Ray fails, never skips
    src = tmp_path / "in"
    render_squad(src, CLIPS)
    runs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        summary = run_batch(
            BatchConfig(input=src, out=out, engine=EngineOptions(engine=engine, workers=2))
        )
        assert (summary.videos_done, summary.videos_failed) == (2, 0), summary.errors
        runs[engine] = _metrics(out)
    assert not ray.is_initialized()  # the engine shut down the cluster it started
    local, remote = runs["local"], runs["ray"]
    assert set(local) == set(remote) and len(local) > 2 * 10
    different = {k: (local[k], remote[k]) for k in local
                 if not all(_same(x, y) for x, y in zip(local[k], remote[k], strict=True))}
    assert different == {}
    assert local[("Ann", "2025-01-10", "cadence_spm")][2] == "ok"
    assert local[("Ben", "2025-01-10", "knee_valgus_fppa_deg")][0] is not None


def test_unreachable_ray_cluster_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="Ray cluster at 127.0.0.1:1"):
        run_ray([object()], EngineOptions(engine="ray", address="127.0.0.1:1"),  # type: ignore[list-item]
                lambda r: None)
