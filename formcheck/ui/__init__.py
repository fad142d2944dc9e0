"""The Streamlit app's pages (``streamlit run streamlit_app.py``).

Page modules lay things out and nothing else: the analysis is
:func:`formcheck.ui.runner.run_analysis` (the CLI's steps with a cache), and
every text or number shown comes from the report via
:mod:`formcheck.ui.present`. Importing this package has no side effects.
"""
