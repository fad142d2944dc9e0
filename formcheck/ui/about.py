"""The "How it works" page: what formcheck measures, how, privacy and limits."""

from __future__ import annotations

import streamlit as st

from formcheck.report import DISCLAIMER
from formcheck.ui.present import DEFAULT_MAX_UPLOAD_MB, UPLOAD_LIMIT_ENV
from formcheck.ui.results import cached_rules


def about_page() -> None:
    """Lay out the page."""
    st.title("How formcheck works")
    st.markdown(
        """
1. **Pose**: a pose model (MediaPipe, running on this machine) finds 33 body points in
   every frame of your clip.
2. **Clean-up**: the tracks are smoothed, short gaps are filled and left/right mix-ups
   are repaired.
3. **View and strides**: formcheck works out whether it sees you from the side or from
   behind, then finds every foot strike and toe-off.
4. **Metrics**: cadence, how far ahead of the hip the foot lands, shin angle and knee bend
   at foot strike, trunk lean, bounce, knee drift and pelvic drop (from behind), each with
   its stride-to-stride spread and a status that says when a number is only approximate.
5. **Findings**: each metric is compared with a target range from the running literature;
   the few that matter most become your top fixes, with cues, drills and sources.
"""
    )
    st.subheader("What each measure means", anchor=False)
    rules = cached_rules()
    rows = [
        f"- **{rule.label}**: {rule.evidence or rule.note}"
        for rule in rules.metrics.values()
        if rule.label and (rule.evidence or rule.note)
    ]
    st.markdown("\n".join(rows))
    st.subheader("Your clip and your privacy", anchor=False)
    st.markdown(
        f"""
- Nothing leaves the machine that runs this app: no cloud service, no download.
- An uploaded clip is written to a private temporary folder, analysed, and deleted as soon
  as the analysis is done. The results (report, annotated video) live in a temporary folder
  while you look at them and are removed when the app no longer needs them.
- Clips up to {DEFAULT_MAX_UPLOAD_MB} MB are accepted by default (whoever runs the app can
  change it with `{UPLOAD_LIMIT_ENV}`).
"""
    )
    st.subheader("Limits", anchor=False)
    st.markdown(
        """
- Video from one camera is 2D: angles are projections, and knee drift from behind is an
  estimate of a 3D movement.
- At 30 fps a frame lasts 33 ms, so contact and flight times are approximate; 60 fps or more
  makes every timing better.
- Loose clothing, a partly hidden body or a tilted camera lower the accuracy; the report
  says how often the runner was found and how confident each finding is.
"""
    )
    st.info(DISCLAIMER, icon=":material/health_and_safety:")
