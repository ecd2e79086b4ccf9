"""The call centre (外呼): lines, caller numbers and seats of the telephony vendor;
click-to-call from the opportunity and the workbench (the rep's seat rings, then the
customer); call records reported by the provider's signed callback or a file, attached to
the opportunity's timeline as follow-up calls, which the recycle rules count."""
