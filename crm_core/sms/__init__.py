"""The SMS platform (短信平台): templates with variables and an approval state, the
sensitive-word list, sends to one lead or a filtered set (with a preview of count and cost),
automatic trial reminders, a provider adapter, and the send log with delivery reports.

A send only queues messages, in the caller's transaction; the delivery job hands them to the
provider at the configured rate, so a send of ten thousand messages returns at once and a
provider that is down delays messages without losing them.
"""
