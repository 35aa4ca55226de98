"""Webhook sink of the end-to-end suite: records every POST body as one JSON line.

    python3 webhook_sink.py ADDRESS PORT FILE

Each line is {"received": <unix time>, "path": ..., "body": <the parsed JSON body>} (the
raw text when the body is not JSON). GET answers 200 so the suite can wait for it.
It stands for a user's webhook receiver inside the test network; it listens only on the
address it is given (the ctl namespace's bridge address).
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sink(BaseHTTPRequestHandler):
    out = None

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"webhook sink\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        record = {"received": time.time(), "path": self.path, "body": body}
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    address, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Sink.out = out
    HTTPServer((address, port), Sink).serve_forever()


if __name__ == "__main__":
    main()
