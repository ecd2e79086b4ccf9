"""What every domain stands on: the database, the clock and the company's time, the acting
user and the names of permissions, settings, option lists, errors, audit, notices, i18n."""
