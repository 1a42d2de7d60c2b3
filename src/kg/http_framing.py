"""HTTP/1.1 request framing for the event loop of ``kg serve``'s HTTP worker: pure functions of the bytes.

The loop (kg.http_worker) decides where a request ends and answers some requests
itself, so it must read every head and body the way gunicorn's parser will:
where the two differ, a proxy in front, the loop and the app could each see
different requests in the same bytes. So what gunicorn would refuse is refused
here, first, with a JSON error and a closed connection (``Refuse``): line ends
other than CRLF, control characters, header names that are not tokens, folded
lines, an unreadable ``Content-Length``, ``Transfer-Encoding`` other than
chunked last, and malformed chunks. Nothing is guessed.
"""

from __future__ import annotations

import re

from gunicorn.http.body import CHUNK_EXT_RE

# Header fields each ending with CRLF, as gunicorn reads them: a name of token characters (RFC 9110
# 5.6.2, gunicorn's TOKEN_RE), a colon, and a value without the characters RFC 9110 5.5 forbids
# (gunicorn's RFC9110_5_5_INVALID_AND_DANGEROUS: controls but tab, so CR and LF too). One pass, in
# linear time: a name cannot contain the colon, nor a value the CR.
_FIELDS = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
_REQUEST_LINE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX = frozenset(b"0123456789abcdefABCDEF")
# Transfer codings gunicorn reads (before "chunked", which must come last, once).
_CODINGS = frozenset({b"chunked", b"gzip", b"deflate", b"compress", b"identity"})
MAX_LENGTH_DIGITS = 20  # a Content-Length longer than this is refused before int() reads it


class Refuse(Exception):
    """A request the loop answers with ``status`` and a JSON error, then closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_head(head: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """The request line split at spaces, and the header fields (lower-case name, value without
    surrounding blanks), of a request head without its final CRLF CRLF. Refuses (400) a head
    gunicorn's parser would refuse for its line ends, characters or field syntax."""
    line, _, section = head.partition(b"\r\n")
    if _REQUEST_LINE.fullmatch(line) is None:
        raise Refuse(400, _fault(head))
    return line.split(b" "), parse_fields(section)


def parse_fields(section: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of a header or trailer section (without its final CRLF CRLF; see parse_head)."""
    if not section:
        return []
    if _FIELDS.fullmatch(section + b"\r\n") is None:
        raise Refuse(400, _fault(section))
    return [
        (name.lower(), value.strip(b" \t"))
        for name, _, value in (f.partition(b":") for f in section.split(b"\r\n"))
    ]


def _fault(section: bytes) -> str:
    """What is wrong with a head parse_head refuses."""
    crlf = section.count(b"\r\n")
    if section.count(b"\n") != crlf or section.count(b"\r") != crlf:
        return "a line of the request head ends other than with CRLF"
    if _CONTROL.search(section):
        return "the request head has a control character"
    # Folded lines start with a blank, so they land here too (gunicorn refuses them as well).
    return "a header field of the request is malformed"


def body_length(fields: list[tuple[bytes, bytes]], limit: int) -> int | None:
    """The length of the body the fields announce (0 for none), or None for a chunked body.
    Refuses an unreadable or ambiguous framing (400, 501), and a length over ``limit`` (413)."""
    lengths = [v for n, v in fields if n == b"content-length"]
    codings = [v for n, v in fields if n == b"transfer-encoding"]
    if codings:
        if lengths:
            raise Refuse(400, "the request has both Content-Length and Transfer-Encoding")
        named = [c.strip(b" \t").lower() for c in b",".join(codings).split(b",")]
        if named[-1] != b"chunked" or named.count(b"chunked") != 1 or b"" in named:
            raise Refuse(400, "the request's Transfer-Encoding does not end with chunked, once")
        if not _CODINGS.issuperset(named):
            raise Refuse(501, "the request's Transfer-Encoding is not supported")
        return None
    if not lengths:
        return 0
    if len(lengths) > 1:
        raise Refuse(400, "the request has more than one Content-Length")
    value = lengths[0]
    if not value.isdigit() or len(value) > MAX_LENGTH_DIGITS:
        raise Refuse(400, "the request's Content-Length is not a number of bytes")
    length = int(value)
    if length > limit:
        raise Refuse(413, f"the request body is over the limit of {limit} bytes")
    return length


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (without its CRLF), extensions checked as gunicorn does."""
    size, semicolon, extensions = line.partition(b";")
    if semicolon:
        size = size.rstrip(b" \t")  # RFC 9112 7.1.1: blanks only before an extension
        if CHUNK_EXT_RE.fullmatch(b";" + extensions) is None:
            raise Refuse(400, "a chunk extension of the request body is malformed")
    if not size or not _HEX.issuperset(size):
        raise Refuse(400, "a chunk size of the request body is not a hexadecimal number")
    return int(size, 16)


class ChunkedBody:
    """Where a chunked body that starts at ``start`` in a growing buffer ends, found as its bytes arrive.

    ``end(buf)`` is called again whenever bytes were added; each call goes on from where the last
    stopped, so a body trickled a byte at a time costs linear work. It refuses a body whose data
    pass ``limit`` (413), a chunk-size line longer than ``line_limit`` (400, as gunicorn), a
    trailer section longer than ``trailer_limit`` (431), and any malformed framing (400).
    """

    __slots__ = ("data", "limit", "line_limit", "pos", "scanned", "total", "trailer", "trailer_limit")

    def __init__(self, start: int, limit: int, line_limit: int, trailer_limit: int) -> None:
        self.pos = self.scanned = start  # the next chunk-size line; how far it was searched for its end
        self.data = -1  # where the data of the chunk at pos end, once its size line is read
        self.total = 0  # data bytes so far
        self.trailer = -1  # where the trailer section starts, once the last chunk is read
        self.limit, self.line_limit, self.trailer_limit = limit, line_limit, trailer_limit

    def shift(self, by: int) -> None:
        """The bytes before the body grew or shrank by ``by``."""
        self.pos += by
        self.scanned += by
        if self.data >= 0:
            self.data += by
        if self.trailer >= 0:
            self.trailer += by

    def end(self, buf: bytes | bytearray) -> int:
        """Where the body ends in ``buf`` (after its trailers), or -1 while it has not all come."""
        while self.trailer < 0:
            if self.data < 0:
                eol = buf.find(b"\r\n", max(self.pos, self.scanned - 1), self.pos + self.line_limit + 2)
                if eol < 0:
                    if len(buf) - self.pos >= self.line_limit + 2:
                        raise Refuse(400, f"a chunk-size line of the request is over {self.line_limit} bytes")
                    self.scanned = len(buf)
                    return -1
                size = chunk_size(bytes(buf[self.pos : eol]))
                if self.total + size > self.limit:
                    raise Refuse(413, f"the request body is over the limit of {self.limit} bytes")
                if size == 0:
                    self.trailer = self.scanned = eol + 2
                    break
                self.data = eol + 2 + size
                self.total += size
            if len(buf) < self.data + 2:
                return -1  # the data have not all come
            if buf[self.data : self.data + 2] != b"\r\n":
                raise Refuse(400, "a chunk of the request body does not end with CRLF")
            self.pos = self.scanned = self.data + 2
            self.data = -1
        if len(buf) < self.trailer + 2:
            return -1
        if buf[self.trailer : self.trailer + 2] == b"\r\n":
            return self.trailer + 2  # no trailers
        end = buf.find(b"\r\n\r\n", max(self.trailer, self.scanned - 3))
        if (end if end >= 0 else len(buf)) - self.trailer > self.trailer_limit:
            raise Refuse(431, f"the request's trailers are over the limit of {self.trailer_limit} bytes")
        if end < 0:
            self.scanned = len(buf)
            return -1
        parse_fields(bytes(buf[self.trailer : end]))
        return end + 4
