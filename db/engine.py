"""The engine and sessions: `crm_core.platform.database`, named here for the migrations,
the seed and the command-line tools under `db/`."""

from crm_core.platform.database import *  # noqa: F403
from crm_core.platform.database import DATA_DIR, PROJECT_ROOT, build_engine, database_url  # noqa: F401
