"""`python -m crm_api`: serve the intake API with uvicorn on `CRM_API_HOST` (default
127.0.0.1: only this machine; set 0.0.0.0 behind a reverse proxy or to reach it from
outside) and `CRM_API_PORT` (default 8502)."""

from __future__ import annotations

import os

import uvicorn

from crm_api.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8502


def main() -> None:
    host = os.environ.get("CRM_API_HOST", DEFAULT_HOST)
    port = int(os.environ.get("CRM_API_PORT", DEFAULT_PORT))
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
