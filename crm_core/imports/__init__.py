"""Bringing files in: reading uploads within limits, and one import per file kind (leads,
history, payments, customers, study activity, the HR roster)."""
