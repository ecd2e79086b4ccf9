"""Streamlit helpers shared by app.py and the pages: the engine, the translation function,
the login gate and the page registry. Business rules stay in crm_core."""
