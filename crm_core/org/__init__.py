"""The organisation: units, people, roles, data scopes (which rows an actor reaches), sign-in
and lockout, and what happens to a leaver's opportunities."""
