"""`python -m crm_api`: serve the intake API with uvicorn on `CRM_API_HOST` (default
127.0.0.1: only this machine; set 0.0.0.0 behind a reverse proxy or to reach it from
outside) and `CRM_API_PORT` (default 8502), in `CRM_API_WORKERS` processes (default 1).

One process answers on one core: the intake is Python work between short database
statements, so on a machine of several cores, several workers answer more single requests
a second. Each worker has its own pool and its own dispatch-on-arrival thread; nothing they
must share lives in memory."""

from __future__ import annotations

import os

import uvicorn

from crm_api.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8502


def main() -> None:
    host = os.environ.get("CRM_API_HOST", DEFAULT_HOST)
    port = int(os.environ.get("CRM_API_PORT", DEFAULT_PORT))
    workers = max(1, int(os.environ.get("CRM_API_WORKERS", "1") or 1))
    if workers == 1:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)
    else:
        # Several processes need the app by name: each worker builds its own.
        uvicorn.run(
            "crm_api.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )


if __name__ == "__main__":
    main()
