"""The malformed and hostile requests of the system test, with the answers that are right for each
(RFC 9112 and security-model.md §8). `ecd` is the set of acceptable outcomes at ecd's public listener,
`nginx` through the TLS proxy; an outcome is a status code as a string, or "close" (closed without
an answer); "any" accepts every answer (the case then checks only that the connection closes).
"hang" (neither an answer nor a close before the timeout) is never acceptable."""

H = b"Host: 127.0.0.1\r\n"
CALLBACK = b"POST /callbacks/delegated/systest-hostile HTTP/1.1\r\n"


class Case:
    def __init__(self, name, pieces, ecd, nginx, must_close=True, pause=0.0, read_timeout=3.0,
                 stop_when_answered=False, responses=None, max_seconds=None):
        self.name = name
        self.pieces = pieces if isinstance(pieces, list) else [pieces]
        self.ecd = set(ecd)
        self.nginx = set(nginx)
        # An error answer from ecd must be followed by closing the connection (framing can no
        # longer be trusted), within the read timeout.
        self.must_close = must_close
        self.pause = pause
        self.read_timeout = read_timeout
        self.stop_when_answered = stop_when_answered
        self.responses = responses          # exact number of responses expected (pipelining)
        self.max_seconds = max_seconds      # the answer must come within this many seconds


def chunked_upload(total, chunk=64 * 1024):
    head = CALLBACK + H + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [head]
    for _ in range(total // chunk):
        pieces.append(b"%x\r\n" % chunk + b"a" * chunk + b"\r\n")
    pieces.append(b"0\r\n\r\n")
    return pieces


def slowloris():
    """A header trickled one field a second, for longer than the 10 s header timeout."""
    return [b"GET /healthz HTTP/1.1\r\n" + H] + [b"X-Slow-%d: x\r\n" % n for n in range(30)]


BAD = {"400"}

CASES = [
    Case("control: a valid GET /healthz", b"GET /healthz HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
         {"200"}, {"200"}, must_close=True),
    Case("two pipelined GETs in one packet answered in order",
         b"GET /healthz HTTP/1.1\r\n" + H + b"\r\nGET /healthz HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
         {"200"}, {"200"}, responses=2),
    Case("Content-Length and Transfer-Encoding together (smuggling)",
         CALLBACK + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/accounts HTTP/1.1\r\n" + H + b"\r\n",
         BAD, {"400"}),
    Case("two different Content-Length headers", CALLBACK + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
         BAD, {"400"}),
    Case("Content-Length as a list", CALLBACK + H + b"Content-Length: 5, 6\r\n\r\nhello!", BAD, {"400"}),
    Case("Content-Length with a sign", CALLBACK + H + b"Content-Length: +5\r\n\r\nhello", BAD, {"400"}),
    Case("Content-Length in hexadecimal", CALLBACK + H + b"Content-Length: 0x5\r\n\r\nhello", BAD, {"400"}),
    Case("Content-Length beyond 64 bits", CALLBACK + H + b"Content-Length: 99999999999999999999999\r\n\r\n",
         {"400", "413"}, {"400", "413"}),
    Case("obs-fold (a header continued on the next line)", b"GET /healthz HTTP/1.1\r\n" + H + b"X-Folded: a\r\n  b\r\n\r\n",
         BAD, {"400"}),
    Case("whitespace between field name and colon", b"GET /healthz HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", BAD, {"400"}),
    Case("bare LF line endings (RFC 9112 §2.2 allows either)", b"GET /healthz HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n",
         {"200", "400"}, {"200", "400"}, must_close=True),
    Case("bare CR inside a field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: b\rc\r\n\r\n", BAD, {"400"}),
    Case("NUL byte in a field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: b\x00c\r\n\r\n", BAD, {"400"}),
    Case("NUL byte in the request target", b"GET /heal\x00thz HTTP/1.1\r\n" + H + b"\r\n", BAD, {"400"}),
    # nginx drops fields with invalid names (ignore_invalid_headers) and serves the rest.
    Case("invalid character in a field name", b"GET /healthz HTTP/1.1\r\n" + H + b"X(A): b\r\n\r\n", BAD, {"400", "200"}),
    Case("request line of 10 KiB", b"GET /healthz?x=" + b"a" * 10240 + b" HTTP/1.1\r\n" + H + b"\r\n", {"414"}, {"414"}),
    Case("one header field of 20 KiB", b"GET /healthz HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20480 + b"\r\n\r\n",
         {"431"}, {"400", "431"}),
    Case("200 header fields", b"GET /healthz HTTP/1.1\r\n" + H + b"".join(b"X-N%d: v\r\n" % n for n in range(200)) + b"\r\n",
         {"431"}, {"400", "431"}),
    Case("2 MB body announced by Content-Length", CALLBACK + H + b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n",
         {"413"}, {"413"}),
    Case("1.2 MiB chunked body", chunked_upload(1200 * 1024), {"413", "close"}, {"413", "close"}, stop_when_answered=True),
    Case("chunk size that is not hexadecimal", CALLBACK + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         BAD, {"400"}),
    Case("chunk size beyond 64 bits", CALLBACK + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
         {"400", "413"}, {"400", "413"}),
    Case("negative chunk size", CALLBACK + H + b"Transfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n", BAD, {"400"}),
    Case("chunk data not followed by CRLF", CALLBACK + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
         BAD, {"400"}),
    Case("unknown transfer coding", CALLBACK + H + b"Transfer-Encoding: gzip\r\n\r\nhello", {"501", "400"}, {"501", "400"}),
    # RFC 9112 §6.1: treat the framing as faulty and close the connection after processing the
    # message, so any answer is right as long as the connection closes.
    Case("Transfer-Encoding in an HTTP/1.0 request, then the connection closes",
         b"POST /callbacks/delegated/x HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {"any"}, {"400", "404"}),
    Case("HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {"505", "400", "close"}, {"505", "400", "close"}),
    Case("HTTP/2.0 in the request line", b"GET /healthz HTTP/2.0\r\n" + H + b"\r\n", {"505"}, {"505", "400"}),
    Case("HTTP/3.1 in the request line", b"GET /healthz HTTP/3.1\r\n" + H + b"\r\n", {"505"}, {"505", "400"}),
    Case("malformed HTTP version", b"GET /healthz HTTP/1\r\n" + H + b"\r\n", BAD, {"400"}),
    Case("unknown method", b"BREW /healthz HTTP/1.1\r\n" + H + b"\r\n", {"501"}, {"403", "405", "501"}, must_close=False),
    Case("lower-case method (methods are case-sensitive)", b"get /healthz HTTP/1.1\r\n" + H + b"\r\n",
         {"400", "501"}, {"400", "403", "405", "501"}, must_close=False),
    Case("HTTP/1.1 request without Host", b"GET /healthz HTTP/1.1\r\n\r\n", BAD, {"400"}),
    Case("two Host headers", b"GET /healthz HTTP/1.1\r\n" + H + H + b"\r\n", BAD, {"400"}),
    Case("request target not in origin form", b"GET healthz HTTP/1.1\r\n" + H + b"\r\n", BAD, {"400"}),
    Case("binary garbage", bytes(range(256)) * 4, {"400", "close"}, {"400", "close"}),
    Case("HTTP/1.0 without Host is fine", b"GET /healthz HTTP/1.0\r\n\r\n", {"200"}, {"200"}),
    # RFC 9112 §3.2.2: a server MUST accept the absolute form.
    Case("absolute-form request target is accepted", b"GET http://127.0.0.1/healthz HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
         {"200"}, {"200"}),
    # RFC 9110 §10.1.1: a 100 (Continue) before the body, then the final answer.
    Case("Expect: 100-continue gets 100, then the answer",
         [CALLBACK + H + b"Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", b"{}"],
         {"100"}, {"100"}, pause=0.5, responses=2),
]

SLOW = [
    Case("slowloris: header trickled past the 10 s header timeout", slowloris(), {"408", "close"}, {"408", "close"},
         pause=1.0, read_timeout=3.0, stop_when_answered=True, max_seconds=14),
    Case("a connection that never sends a byte is closed by the header timeout", [b""], {"408", "close"}, {"408", "close"},
         read_timeout=20.0, max_seconds=14),
    # ecd's body timeout is 30 s, nginx's client_body_timeout 10 s (deploy/nginx/ecd-locations.conf).
    Case("a body that stops after 10 of 100 bytes hits the body timeout",
         CALLBACK + H + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b"{" * 10,
         {"408", "close"}, {"408", "close"}, read_timeout=40.0, max_seconds=35),
]
