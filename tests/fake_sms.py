"""A fake SMS provider on 127.0.0.1 speaking the JSON protocol of `HttpSmsProvider`: it checks
each request's signature, records what it was sent, and can accept, refuse some numbers,
answer slowly, or fail."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crm_core.sms.providers import signature_matches


@dataclass
class FakeSmsProvider:
    secret: str
    mode: str = "accept"  # accept | refuse_some | slow | down
    refused_numbers: set[str] = field(default_factory=set)
    received: list[dict] = field(default_factory=list)
    bad_signatures: int = 0
    delay: float = 3.0

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the library's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not signature_matches(fake.secret, body, self.headers.get("X-Signature")):
                    fake.bad_signatures += 1
                    self._answer(401, {"error": "bad signature"})
                    return
                if fake.mode == "down":
                    self._answer(503, {"error": "maintenance"})
                    return
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                payload = json.loads(body)
                results = []
                for m in payload["messages"]:
                    fake.received.append(m)
                    if m["to"] in fake.refused_numbers:
                        results.append(
                            {
                                "client_id": m["client_id"],
                                "status": "rejected",
                                "error": "blacklisted",
                            }
                        )
                    else:
                        results.append(
                            {
                                "client_id": m["client_id"],
                                "status": "accepted",
                                "message_id": f"p-{m['client_id']}",
                            }
                        )
                self._answer(200, {"results": results})

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
