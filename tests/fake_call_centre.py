"""A fake call-centre vendor on 127.0.0.1 speaking the JSON protocol of `HttpCallProvider`:
it checks each request's signature and records it, and can ring, refuse, answer slowly or
be down. The tests play its callbacks (answer, hang-up) through the core."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crm_core.platform.provider_http import signature_matches


@dataclass
class FakeCallCentre:
    secret: str
    mode: str = "ring"  # ring | refuse | slow | down
    requests: list[dict] = field(default_factory=list)
    bad_signatures: int = 0
    delay: float = 3.0

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the library's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not signature_matches(fake.secret, body, self.headers.get("X-Signature")):
                    fake.bad_signatures += 1
                    self._answer(401, {"error": "bad signature"})
                    return
                if fake.mode == "down":
                    self._answer(502, {"error": "bad gateway"})
                    return
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                payload = json.loads(body)
                fake.requests.append(payload)
                if fake.mode == "refuse":
                    self._answer(200, {"status": "rejected", "error": "seat offline"})
                else:
                    self._answer(200, {"status": "ringing", "call_id": f"c-{payload['client_id']}"})

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
