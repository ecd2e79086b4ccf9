"""Forced circulation (流转): dispatch, recycling, renewals by rule, the public pool, a
manager's hand, rules, the flow log, locks, and the jobs and worker that run them."""
