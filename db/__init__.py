"""Database plumbing: the engine from CRM_DATABASE_URL, migrations and the demo company."""
