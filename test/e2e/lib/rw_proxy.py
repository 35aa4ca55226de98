#!/usr/bin/env python3
"""The e2e stand-in for the AMP workspace's front door.

Every remote_write request must carry a SigV4 Authorization header for the
"aps" service, the expected region and access key, dated now, and its
signature must verify with the secret key the suite gave the writers. A
request that passes is forwarded to a Prometheus remote-write receiver; one
that does not is answered 403, as AMP would. One JSON line per request goes
to the log file, which the suite reads.

usage: rw_proxy.py LISTEN_IP PORT UPSTREAM_URL REGION ACCESS_KEY SECRET_KEY LOG
"""

import datetime
import hashlib
import hmac
import http.server
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<sig>[0-9a-f]{64})$")


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check(method, path, headers, body, region, access_key, secret_key):
    """'' when the request is signed as AMP expects, else why not."""
    auth = headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return "no well-formed SigV4 Authorization header: %r" % auth[:80]
    if m["service"] != "aps":
        return "signed for service %s, not aps" % m["service"]
    if m["region"] != region:
        return "signed for region %s, not %s" % (m["region"], region)
    if m["key"] != access_key:
        return "signed with access key %s" % m["key"]
    signed = m["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date are not among the signed headers %s" % m["signed"]
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "X-Amz-Date %r is not a SigV4 date" % amz_date
    if not amz_date.startswith(m["date"]):
        return "X-Amz-Date %s is not the credential's day %s" % (amz_date, m["date"])
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds())
    if skew > 300:
        return "signed %d s away from now" % skew
    url = urllib.parse.urlsplit(path)
    canonical_headers = "".join(
        "%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    canonical = "\n".join([
        method, urllib.parse.quote(url.path, safe="/-_.~"), url.query,
        canonical_headers, m["signed"], hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/aps/aws4_request" % (m["date"], region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = hmac_sha256(("AWS4" + secret_key).encode(), m["date"])
    for part in (region, "aps", "aws4_request"):
        k = hmac_sha256(k, part)
    if not hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), m["sig"]):
        return "the signature does not verify"
    return ""


def main():
    listen, port, upstream, region, access_key, secret_key, log_path = sys.argv[1:8]
    log = open(log_path, "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            problem = check("POST", self.path, self.headers, body, region, access_key, secret_key)
            status = 403
            if not problem:
                req = urllib.request.Request(upstream, data=body, method="POST", headers={
                    h: self.headers[h] for h in ("Content-Type", "Content-Encoding",
                                                 "X-Prometheus-Remote-Write-Version") if h in self.headers})
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        status = resp.status
                except urllib.error.HTTPError as e:
                    status = e.code
                except OSError:
                    status = 503  # the receiver is down: Prometheus retries
            log.write(json.dumps({"time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                                  "path": self.path, "bytes": len(body), "problem": problem,
                                  "status": status}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((listen, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
