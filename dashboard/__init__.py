"""LINE's Streamlit dashboard: a router (``app.py``) plus one file per view in ``views/``."""
