"""An IIS-like Windows-authentication front for the tests: a real NTLM acceptor (pyspnego, the
server side of `spnego.server(protocol="ntlm")`, with the users of an `NTLM_USER_FILE`) in front
of an upstream HTTP server (the fake Orchestrator).

Like IIS, it answers an unauthenticated request `401` with `WWW-Authenticate: NTLM` (and
`Negotiate`), a NEGOTIATE message with `401` and the CHALLENGE, and an AUTHENTICATE message by
checking it; NTLM state lives with the TCP connection (HTTP/1.1 keep-alive), so a client that
changes connections mid-handshake fails, as on IIS. An authenticated request is forwarded to the
upstream with `X-Authenticated-User` set; a refused one gets `401` again.

Usage: ntlm-acceptor.py --users FILE --upstream URL. Prints `listening on <port>` when ready.
Each outcome is logged on stderr (`authenticated DOMAIN\\user`, `refused: …`), never a password.
"""

import argparse
import base64
import http.client
import http.server
import os
import sys
import urllib.parse

import spnego


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("ntlm-acceptor: " + (format % args) + "\n")

    def do_GET(self):
        self.handle_request()

    def do_POST(self):
        self.handle_request()

    def reply(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def challenge_again(self, why):
        self.log_message("refused: %s", why)
        self.context = None
        self.reply(401, [("WWW-Authenticate", "NTLM"), ("WWW-Authenticate", "Negotiate")],
                   b"401 - Unauthorized: Access is denied due to invalid credentials.")

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme not in ("NTLM", "Negotiate") or not token:
            return self.challenge_again("no NTLM authorization")
        try:
            raw = base64.b64decode(token)
        except ValueError:
            return self.challenge_again("not base64")
        # A NEGOTIATE message (type 1) starts a handshake on this connection.
        if raw[8:12] == b"\x01\x00\x00\x00":
            self.context = spnego.server(protocol="ntlm")
            out = self.context.step(raw)
            header = "%s %s" % (scheme, base64.b64encode(out).decode())
            return self.reply(401, [("WWW-Authenticate", header)])
        context = getattr(self, "context", None)
        if context is None:
            return self.challenge_again("AUTHENTICATE without a handshake on this connection")
        try:
            context.step(raw)
        except Exception as e:  # pyspnego raises InvalidTokenError and friends
            return self.challenge_again(type(e).__name__)
        self.context = None
        if not context.complete:
            return self.challenge_again("handshake not complete")
        user = context.client_principal or ""
        self.log_message("authenticated %s", user)
        self.forward(body, user)

    def forward(self, body, user):
        target = urllib.parse.urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "host", "connection", "content-length")}
        headers["X-Authenticated-User"] = user
        connection.request(self.command, self.path, body=body or None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        passed = [(k, v) for k, v in response.getheaders()
                  if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        connection.close()
        self.reply(response.status, passed, data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    os.environ["NTLM_USER_FILE"] = args.users
    Handler.upstream = args.upstream
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
