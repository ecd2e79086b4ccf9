"""A fake WeCom / DingTalk group robot on 127.0.0.1: it records what it was sent, checks
DingTalk's `timestamp` + `sign` when it has a secret, and can accept, refuse with an
errcode, answer slowly, rate-limit, or be down (a closed port)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from crm_core.work_chat.robots import dingtalk_sign


@dataclass
class FakeRobot:
    secret: str | None = None  # DingTalk's signing secret; None: WeCom (no signature)
    mode: str = "accept"  # accept | refuse | slow | rate_limited
    received: list[dict] = field(default_factory=list)
    bad_signatures: int = 0
    delay: float = 3.0
    released: threading.Event = field(default_factory=threading.Event)

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the library's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = parse_qs(urlparse(self.path).query)
                if fake.secret is not None:
                    stamp = (query.get("timestamp") or ["0"])[0]
                    sign = (query.get("sign") or [""])[0]
                    if not stamp.isdigit() or sign != dingtalk_sign(fake.secret, int(stamp)):
                        fake.bad_signatures += 1
                        self._answer({"errcode": 310000, "errmsg": "sign not match"})
                        return
                if fake.mode == "slow":
                    # Held past the client's timeout, or until the test stops the robot.
                    fake.released.wait(fake.delay)
                if fake.mode == "refuse":
                    self._answer({"errcode": 93000, "errmsg": "invalid webhook url"})
                    return
                if fake.mode == "rate_limited":
                    self._answer({"errcode": 45009, "errmsg": "api freq out of limit"})
                    return
                fake.received.append(json.loads(body))
                self._answer({"errcode": 0, "errmsg": "ok"})

            def _answer(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/send?key=test-key"

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        """The Markdown text of each message received."""
        return [m["markdown"].get("content") or m["markdown"].get("text") for m in self.received]
