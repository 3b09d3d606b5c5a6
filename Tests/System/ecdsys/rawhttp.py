"""Raw HTTP/1.1 exchanges over a socket (optionally TLS): what a hostile client can send, byte for
byte, and what came back: the status line(s), whether the peer closed, how long it took."""
import socket
import ssl
import time


class Outcome:
    def __init__(self, statuses, closed, elapsed, raw, error=None):
        self.statuses = statuses   # every status code seen, in order
        self.closed = closed       # the peer closed (FIN or RST) before our read timeout
        self.elapsed = elapsed
        self.raw = raw
        self.error = error

    @property
    def first(self):
        """The first status as a string, "close" for a close without an answer, "hang" for neither."""
        if self.statuses:
            return str(self.statuses[0])
        return "close" if self.closed else "hang"

    def describe(self):
        head = self.raw[:160].decode("latin-1").replace("\r", "\\r").replace("\n", "\\n")
        error = f" [{self.error}]" if self.error else ""
        return f"got {self.first} (closed={self.closed}, {self.elapsed:.1f} s){error} {head!r}"


def connect(host, port, tls_context=None, timeout=5):
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls_context is not None:
        sock = tls_context.wrap_socket(sock, server_hostname=host)
    return sock


def parse_statuses(raw):
    """Status codes of the responses in `raw`, walking each head and its Content-Length body (a
    pipelined second response starts right after the first body, with no line break before it;
    a 1xx interim response has no body)."""
    statuses = []
    while raw.startswith(b"HTTP/1.") and len(raw) >= 12 and raw[9:12].isdigit():
        statuses.append(int(raw[9:12]))
        head, separator, rest = raw.partition(b"\r\n\r\n")
        if not separator:
            break
        raw = rest if raw[9:10] == b"1" else rest[content_length(head):]
    return statuses


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


def exchange(host, port, pieces, tls_context=None, pause=0.0, read_timeout=5.0, stop_when_answered=False):
    """Sends each piece (bytes), sleeping `pause` seconds between pieces, then reads until the peer
    closes or `read_timeout` seconds pass without data. With `stop_when_answered`, a response or a
    close while sending ends the sending early (slowloris, oversized uploads)."""
    started = time.monotonic()
    raw = b""
    closed = False
    error = None
    try:
        sock = connect(host, port, tls_context)
    except OSError as e:
        return Outcome([], True, 0.0, b"", error=f"connect: {e}")
    try:
        sock.settimeout(read_timeout)
        for index, piece in enumerate(pieces):
            if stop_when_answered:
                raw, closed = _peek(sock, raw, read_timeout)
                if closed or raw:
                    break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
                error = f"send: {type(e).__name__}"
                break
            if pause and index < len(pieces) - 1:
                time.sleep(pause)
        while not closed:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError, OSError):
                closed = True
                break
            if not data:
                closed = True
                break
            raw += data
    finally:
        sock.close()
    return Outcome(parse_statuses(raw), closed, time.monotonic() - started, raw, error)


def _peek(sock, raw, timeout):
    """Non-blocking read of what the server sent so far; (raw, closed)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return raw, True
            raw += data
    except (BlockingIOError, ssl.SSLWantReadError):
        return raw, False
    except (ConnectionResetError, OSError):
        return raw, True
    finally:
        sock.settimeout(timeout)
