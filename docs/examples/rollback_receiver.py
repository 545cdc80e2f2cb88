#!/usr/bin/env python3
"""A self-contained receiver for Firebreak rollback webhooks (Python 3 standard library only).

    ROLLBACK_SECRET=... python3 rollback_receiver.py 127.0.0.1:9000

It verifies X-Firebreak-Signature ("sha256=" + hex HMAC-SHA256 of timestamp + "." + body,
keyed by the secret's raw bytes), refuses stale or forged calls, and acts once per
Idempotency-Key (Firebreak retries a failed webhook with the same key).
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
SECRET = os.environb.get(b"ROLLBACK_SECRET", b"")  # raw bytes, exactly as set
DONE = set()
LOCK = threading.Lock()


def verify(secret: bytes, timestamp: str, signature: str, body: bytes, now: float) -> str:
    """Returns "" when the call is genuine and fresh, else why it is not."""
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Firebreak-Timestamp is not Unix seconds"
    if abs(now - sent) > TOLERANCE_SECONDS:
        return "stale timestamp"
    if not signature.startswith("sha256="):
        return "malformed X-Firebreak-Signature"
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature[len("sha256="):]):  # constant time
        return "bad signature"
    return ""


def act(req: dict) -> None:
    """Call your deployer here; raise to make Firebreak retry."""
    print(f"{req['action']} {req['service']}/{req['environment']} from {req['rollback_from']} "
          f"to {req.get('rollback_to') or 'the previous version'}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length > 1 << 20:
            return self.answer(413, "body too large")
        body = self.rfile.read(length)
        why = verify(SECRET, self.headers.get("X-Firebreak-Timestamp", ""),
                     self.headers.get("X-Firebreak-Signature", ""), body, time.time())
        if why:
            return self.answer(401, why)
        key = self.headers.get("Idempotency-Key", "")
        with LOCK:
            if key in DONE:
                return self.answer(200, "already done")
            try:
                act(json.loads(body))
            except Exception as e:  # 5xx: Firebreak retries with the same key
                return self.answer(503, str(e))
            DONE.add(key)
        self.answer(200, "ok")

    def answer(self, code: int, text: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode())


if __name__ == "__main__":
    if not SECRET:
        sys.exit("set ROLLBACK_SECRET to the secret Firebreak signs with")
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9000").rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
