"""A fault-injecting HTTP proxy for the storage tests: it stands in front of a local store (moto_server
for S3, Azurite for Azure Blob Storage) and forwards every request unchanged, except those a rule
matches, which it fails the way object stores fail — an error status with the store's XML error
body, a response that never comes (the client's timeout fires), or a connection closed without
an answer.

    python fault_proxy.py --upstream http://127.0.0.1:PORT [--errors s3|azure]

prints `listening on PORT` once it accepts connections. Rules are set while it runs:

    POST /_proxy/rules   [{"method": "PUT", "path": "_delta_log/.*\\.json", "action": "status",
                           "status": 503, "times": -1, "skip": 0}, ...]
    GET  /_proxy/log     every request seen: [{"method", "path", "fault"}]

A rule matches a request whose method is `method` (or any, when absent) and whose path matches
the regular expression `path`; it lets its first `skip` matches through, then acts `times` times
(-1: forever). Actions: `status` (answer `status`), `stall` (wait `seconds`, then close),
`reset` (close the connection at once). Standard library only.
"""
import argparse
import http.client
import http.server
import json
import re
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit

LOCK = threading.Lock()
RULES: list[dict] = []
LOG: list[dict] = []

# The error codes each store answers these statuses with: S3's (docs.aws.amazon.com/AmazonS3/latest/
# API/ErrorResponses.html) and Azure Blob Storage's (learn.microsoft.com/rest/api/storageservices/
# common-rest-api-error-codes), which also sends the code in `x-ms-error-code`.
ERRORS = {
    "s3": {
        500: ("InternalError", "We encountered an internal error. Please try again."),
        503: ("SlowDown", "Please reduce your request rate."),
        507: ("InsufficientStorage", "The destination has no space left."),
    },
    "azure": {
        500: ("InternalError", "The server encountered an internal error. Please retry the request."),
        503: ("ServerBusy", "The server is currently unable to receive requests. Please retry your request."),
    },
}


def matching_rule(method: str, path: str):
    with LOCK:
        for rule in RULES:
            if rule.get("method") not in (None, method):
                continue
            if not re.search(rule.get("path", ""), path):
                continue
            if rule.get("skip", 0) > 0:
                rule["skip"] -= 1
                return None
            times = rule.get("times", -1)
            if times == 0:
                continue
            if times > 0:
                rule["times"] = times - 1
            return dict(rule)
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ""
    errors = "s3"

    def log_message(self, *args):
        pass

    def body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self, data: bytes) -> bool:
        if self.path.startswith("/_proxy/rules") and self.command == "POST":
            with LOCK:
                RULES[:] = json.loads(data or b"[]")
            self.reply(200, b"{}", "application/json")
            return True
        if self.path.startswith("/_proxy/log"):
            with LOCK:
                body = json.dumps(LOG).encode()
            self.reply(200, body, "application/json")
            return True
        return False

    def reply(self, status: int, body: bytes, content_type: str, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        data = self.body()
        if self.control(data):
            return
        path = urlsplit(self.path).path
        rule = matching_rule(self.command, path)
        with LOCK:
            LOG.append({"method": self.command, "path": path, "fault": rule["action"] if rule else None})
        if rule:
            action = rule["action"]
            if action == "status":
                status = rule.get("status", 503)
                code, message = ERRORS[self.errors].get(status, ("InternalError", "Simulated failure."))
                body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                        f"<Message>{message}</Message><Resource>{path}</Resource></Error>").encode()
                headers = [("Retry-After", "1")] if status == 503 else []
                if self.errors == "azure":
                    headers.append(("x-ms-error-code", code))
                self.reply(status, body, "application/xml", headers)
                return
            if action == "stall":
                time.sleep(rule.get("seconds", 60))
            self.close_connection = True
            self.connection.close()
            return
        up = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            headers["Content-Length"] = str(len(data))
        conn.request(self.command, self.path, body=data if data or self.command in ("PUT", "POST") else None,
                     headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        self.send_response(resp.status)
        head = self.command == "HEAD"
        for k, v in resp.getheaders():
            # A HEAD answer's length is the object's, not its (empty) body's.
            if k.lower() not in ("transfer-encoding", "connection") and (head or k.lower() != "content-length"):
                self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--errors", choices=sorted(ERRORS), default="s3")
    args = p.parse_args()
    Handler.upstream = args.upstream
    Handler.errors = args.errors
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
