#!/usr/bin/env python3
"""A webhook endpoint for RepoWatch's end-to-end test, verified by the reference Standard Webhooks library.

Usage: WEBHOOK_SECRET=whsec_... standard_webhooks_receiver.py PORT OUT_FILE

Every POST is verified with `standardwebhooks.Webhook(secret).verify(body, headers)` (signature, and a timestamp
within the library's tolerance) and appended to OUT_FILE as one JSON line:
{"verified": bool, "error": str|null, "webhook_id": str, "payload": object|null}. Verified requests are answered 204,
others 400. The secret comes from the environment, never from argv.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

secret = os.environ["WEBHOOK_SECRET"]
port = int(sys.argv[1])
out_path = sys.argv[2]
verifier = Webhook(secret)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = {"verified": False, "error": None, "webhook_id": headers.get("webhook-id"), "payload": None}
        try:
            record["payload"] = verifier.verify(body, headers)
            record["verified"] = True
        except Exception as error:  # the library raises WebhookVerificationError
            record["error"] = f"{type(error).__name__}: {error}"
        with open(out_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        self.send_response(204 if record["verified"] else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"listening on {port}", flush=True)
server.serve_forever()
