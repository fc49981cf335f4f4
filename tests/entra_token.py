"""The token endpoints of Microsoft Entra ID, for the Azure tests' Entra ID credentials: Azurite
(with `--oauth basic`) accepts a bearer token whose audience is Azure Storage, whose issuer is
Entra ID's and which has not expired, but nothing on this machine issues one. This serves the
two ways object_store asks for one, over HTTPS with the tests' certificate, and checks the
request as Entra ID would:

- the client credentials grant (service principal, workload identity), as documented in
  learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow:
  `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, `client_id`,
  `scope=https://storage.azure.com/.default` and either `client_secret` or, for workload
  identity federation, `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
  with the federated token as `client_assertion`; answers `{token_type, expires_in,
  access_token}`, or 400/401 with `invalid_request`/`invalid_client`;
- the managed identity endpoint of Azure VMs (IMDS), as documented in
  learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token:
  `GET /metadata/identity/oauth2/token?api-version=…&resource=https://storage.azure.com` with the
  header `Metadata: true` (and `client_id` for a user-assigned identity); answers
  `{access_token, expires_on (epoch seconds, as a string), resource, token_type}`.

    python entra_token.py --cert CERT --key KEY --tenant T --client-id C --client-secret S
                          --federated-token F --managed-client-id M

prints `listening on PORT`. `GET /_log` lists the grants made: `[{"flow", "client_id"}]`.
Standard library only.
"""
import argparse
import base64
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
GRANTS: list[dict] = []
STORAGE = "https://storage.azure.com"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(tenant: str, client_id: str) -> str:
    """A JWT with the claims Azure Storage reads (aud, iss, iat, nbf, exp, tid, appid, oid). Its
    signature is a placeholder: Azurite's basic OAuth checks claims, not signatures."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "kid": "jirapipe-tests"}
    claims = {
        "aud": STORAGE,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "tid": tenant,
        "appid": client_id,
        "oid": client_id,
        "sub": client_id,
        "ver": "1.0",
    }
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(b"unsigned")])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    args = None

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, code: str, description: str):
        self.reply(status, {"error": code, "error_description": description})

    def grant(self, flow: str, client_id: str):
        with LOCK:
            GRANTS.append({"flow": flow, "client_id": client_id})

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_log":
            with LOCK:
                self.reply(200, list(GRANTS))
            return
        if url.path != "/metadata/identity/oauth2/token":
            self.error(404, "not_found", url.path)
            return
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if self.headers.get("Metadata", "").lower() != "true":
            self.error(400, "invalid_request", "Required metadata header not specified")
            return
        if q.get("resource", "").rstrip("/") != STORAGE or "api-version" not in q:
            self.error(400, "invalid_request", "resource and api-version are required")
            return
        # A user-assigned identity is chosen by its client id; none means the system-assigned one.
        client_id = q.get("client_id", "system-assigned")
        if client_id not in ("system-assigned", self.args.managed_client_id):
            self.error(400, "invalid_request", "Identity not found")
            return
        self.grant("managed_identity", client_id)
        token = access_token(self.args.tenant, client_id)
        self.reply(200, {"access_token": token, "expires_on": str(int(time.time()) + 3600),
                         "resource": STORAGE, "token_type": "Bearer"})

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if url.path != f"/{self.args.tenant}/oauth2/v2.0/token":
            self.error(400, "invalid_tenant", f"no tenant at {url.path}")
            return
        if form.get("grant_type") != "client_credentials" or form.get("scope") != f"{STORAGE}/.default":
            self.error(400, "invalid_request", "client_credentials for Azure Storage only")
            return
        if form.get("client_id") != self.args.client_id:
            self.error(400, "unauthorized_client", "Application not found in the directory")
            return
        if "client_secret" in form:
            if form["client_secret"] != self.args.client_secret:
                self.error(401, "invalid_client", "Invalid client secret provided")
                return
            flow = "client_secret"
        elif form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            if form.get("client_assertion") != self.args.federated_token:
                self.error(401, "invalid_client", "The federated token does not match")
                return
            flow = "workload_identity"
        else:
            self.error(400, "invalid_request", "client_secret or client_assertion required")
            return
        self.grant(flow, form["client_id"])
        self.reply(200, {"token_type": "Bearer", "expires_in": 3599,
                         "access_token": access_token(self.args.tenant, form["client_id"])})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    for name in ("cert", "key", "tenant", "client-id", "client-secret", "federated-token", "managed-client-id"):
        p.add_argument(f"--{name}", required=True)
    Handler.args = p.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(Handler.args.cert, Handler.args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
