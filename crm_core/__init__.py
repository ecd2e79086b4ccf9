"""The sales CRM's business core: models, access control and every business rule.

Nothing in this package imports streamlit; the pages call these functions, and so do the
tests, the worker and the demo seed.
"""
