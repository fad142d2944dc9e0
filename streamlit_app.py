"""formcheck in the browser: ``streamlit run streamlit_app.py``.

This file only lists the pages. Each page is a function in ``formcheck/ui/``
that lays things out and calls the same pipeline as the CLI. Adding a page is
one line in :data:`PAGES`: ``("module:function", "Title", "icon", url path)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

# The app's pages, the first is the home page. (A comment, not a docstring:
# Streamlit would print a bare string.)
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("formcheck.ui.analyse:analyse_page", "Analyse a run", ":material/directions_run:", "analyse"),
    ("formcheck.ui.coach:coach_page", "Coach: squad history", ":material/groups:", "coach"),
    ("formcheck.ui.about:about_page", "How it works", ":material/info:", "how-it-works"),
)


def _function(spec: str) -> Callable[[], None]:
    module, _, name = spec.partition(":")
    page: Callable[[], None] = getattr(importlib.import_module(module), name)
    return page


def main() -> None:
    """Set up the page and run the chosen one."""
    st.set_page_config(
        page_title="formcheck: running form from video",
        page_icon=":material/directions_run:",
        layout="wide",
    )
    pages = [
        st.Page(_function(spec), title=title, icon=icon, url_path=path, default=i == 0)
        for i, (spec, title, icon, path) in enumerate(PAGES)
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
