"""The request framing of the HTTP worker's event loop (kg.http_framing), checked against gunicorn."""

from __future__ import annotations

import time

import pytest
from gunicorn import http
from gunicorn.config import Config

from kg.http_framing import ChunkedBody, Refuse, body_length, chunk_size, parse_head

LIMIT = 64 * 1024
LINE = 16 * 1024


def _refused(status: int, call, *args) -> str:
    with pytest.raises(Refuse) as caught:
        call(*args)
    assert caught.value.status == status
    return caught.value.message


# ---------------------------------------------------------------- heads


def test_a_plain_head_is_split_into_its_fields():
    parts, fields = parse_head(b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-Tab:\tv a \t\r\nEmpty:")
    assert parts == [b"GET", b"/a?b", b"HTTP/1.1"]
    assert fields == [(b"host", b"x"), (b"x-tab", b"v a"), (b"empty", b"")]


@pytest.mark.parametrize(
    "line",
    [
        b"X-A: a\nContent-Length: 5",  # a bare LF: a line end to some proxies
        b"X-A: a\rContent-Length: 5",  # a lone CR
        b"X-A: a\x00b",
        b"X-A: a\x1bb",
        b"X-A: a\x7f",
        b"X(A): a",  # not a token
        b"X-A : a",  # a blank before the colon
        b" folded",  # obsolete line folding
        b"\tfolded",
        b"no colon",
        b": no name",
        b"X-\xe4: a",  # not ASCII
    ],
)
def test_a_head_gunicorn_would_refuse_is_refused(line):
    _refused(400, parse_head, b"GET / HTTP/1.1\r\nHost: x\r\n" + line)


def test_a_bare_lf_in_the_request_line_is_refused():
    _refused(400, parse_head, b"GET / HTTP/1.1\nHost: x\r\nX: y")


def test_many_fields_are_read_in_linear_time():
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %d\r\n" % (n, n) for n in range(4000)) + b"Host: x"
    started = time.perf_counter()
    assert len(parse_head(head)[1]) == 4001
    assert time.perf_counter() - started < 0.5


# ---------------------------------------------------------------- body length


def _fields(*pairs: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in pairs]


def test_the_body_length_comes_from_content_length():
    assert body_length([], LIMIT) == 0
    assert body_length(_fields((b"Content-Length", b"0")), LIMIT) == 0
    assert body_length(_fields((b"Content-Length", b"00042")), LIMIT) == 42
    assert body_length(_fields((b"Content-Length", str(LIMIT).encode())), LIMIT) == LIMIT


@pytest.mark.parametrize(
    "value",
    [b"0" * 4400 + b"5", b"1" * 4400, b"9" * 21, b"", b"-1", b"+5", b"5 5", b"0x10", b"\xb2", b"1_0"],
)
def test_a_content_length_that_is_not_a_plain_number_is_refused_before_int_reads_it(value):
    # 4,400 digits: int() itself would raise ValueError (the 4,300-digit limit), ending the loop.
    _refused(400, body_length, _fields((b"Content-Length", value)), LIMIT)


def test_a_content_length_over_the_limit_is_413():
    assert "limit" in _refused(413, body_length, _fields((b"Content-Length", b"65537")), LIMIT)
    _refused(413, body_length, _fields((b"Content-Length", b"9" * 20)), LIMIT)


def test_two_content_lengths_are_refused_even_when_equal():
    _refused(400, body_length, _fields((b"Content-Length", b"5"), (b"Content-Length", b"5")), LIMIT)


@pytest.mark.parametrize(
    "codings",
    [
        [b"chunked"],
        [b"gzip, chunked"],
        [b"gzip", b"chunked"],  # two fields are one list
        [b"Chunked"],
        [b"identity, chunked"],
    ],
)
def test_transfer_encoding_ending_with_chunked_is_a_chunked_body(codings):
    assert body_length(_fields(*[(b"Transfer-Encoding", c) for c in codings]), LIMIT) is None


@pytest.mark.parametrize(
    ("codings", "status"),
    [
        ([b"gzip"], 400),  # no length at all
        ([b"chunked, gzip"], 400),
        ([b"chunked, chunked"], 400),
        ([b"chunked", b"chunked"], 400),
        ([b"chunked,"], 400),
        ([b"foo, chunked"], 501),
    ],
)
def test_other_transfer_encodings_are_refused(codings, status):
    _refused(status, body_length, _fields(*[(b"Transfer-Encoding", c) for c in codings]), LIMIT)


def test_content_length_with_transfer_encoding_is_refused():
    fields = _fields((b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5"))
    _refused(400, body_length, fields, LIMIT)


# ---------------------------------------------------------------- chunks


@pytest.mark.parametrize(
    ("line", "size"),
    [
        (b"0", 0),
        (b"f", 15),
        (b"00F", 15),
        (b"1a;name", 26),
        (b"1a ;name=value", 26),
        (b'1a\t; name = "quoted;value" ;other', 26),
        (b"10;" + b"x" * 8000, 16),
    ],
)
def test_a_chunk_size_line_is_read_as_gunicorn_reads_it(line, size):
    assert chunk_size(line) == size


@pytest.mark.parametrize(
    "line",
    [b"", b"0xf", b"0_f", b"+f", b"-1", b" f", b"f ", b"g", b"f;", b"f;a=\x01", b"f;a b", b"f;a\rb", b"\xef"],
)
def test_a_malformed_chunk_size_line_is_refused(line):
    _refused(400, chunk_size, line)


def _end(data: bytes, start: int = 0) -> int:
    return ChunkedBody(start, LIMIT, LINE, LINE).end(data)


def test_a_chunked_body_ends_after_its_last_chunk_and_trailers():
    assert _end(b"5\r\nhello\r\n0\r\n\r\nNEXT") == len(b"5\r\nhello\r\n0\r\n\r\n")
    assert _end(b"5\r\nhello\r\n0\r\nX-T: a\r\nX-U: b\r\n\r\nNEXT") == len(
        b"5\r\nhello\r\n0\r\nX-T: a\r\nX-U: b\r\n\r\n"
    )
    assert _end(b"HEAD5\r\nhello\r\n0\r\n\r\n", start=4) == len(b"HEAD5\r\nhello\r\n0\r\n\r\n")
    for partial in (
        b"",
        b"5",
        b"5\r\nhel",
        b"5\r\nhello\r",
        b"5\r\nhello\r\n0\r\n",
        b"5\r\nhello\r\n0\r\nX: a\r\n",
    ):
        assert _end(partial) == -1


def test_a_chunk_size_line_of_thousands_of_bytes_is_framing_not_the_end_of_the_body():
    body = b"5;ext=" + b"v" * 2000 + b"\r\nhello\r\n0\r\n\r\n"
    assert _end(body + b"GET / HTTP/1.1\r\n\r\n") == len(body)


def test_a_body_trickled_a_byte_at_a_time_ends_in_the_same_place_in_linear_time():
    body = b"".join(b"%x;e=%s\r\n%s\r\n" % (n, b"v" * 900, b"d" * n) for n in range(1, 60))
    body += b"0\r\n" + b"X-T: " + b"t" * 12000 + b"\r\n\r\n"
    framing = ChunkedBody(0, LIMIT, LINE, LINE)
    buf = bytearray()
    started = time.perf_counter()
    ends = []
    for byte in body:
        buf.append(byte)
        ends.append(framing.end(buf))
    assert ends[-1] == len(body) and all(end == -1 for end in ends[:-1])
    assert time.perf_counter() - started < 2  # re-scanning each time would take minutes


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"f\r\n" + b"q" * 15 + b"XX0\r\n\r\n", 400),  # no CRLF after the data
        (b"5\r\nhello\r\n0\r\nX-T: a\nb\r\n\r\n", 400),  # a trailer with a bare LF
        (b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n", 400),
        (b"5;" + b"v" * LINE + b"\r\nhello\r\n0\r\n\r\n", 400),  # a size line over the limit
        (b"5;" + b"v" * LINE, 400),  # ... refused before its end comes
        (b"10001\r\n", 413),  # over the body limit from its size alone
        (b"8000\r\n" + b"d" * 0x8000 + b"\r\n8001\r\n", 413),  # over it in all
        (b"0\r\nX-T: " + b"t" * LINE + b"\r\n\r\n", 431),
        (b"0\r\nX-T: " + b"t" * LINE, 431),
    ],
)
def test_malformed_or_oversized_chunked_bodies_are_refused(data, status):
    _refused(status, _end, data)


def test_shift_follows_the_head_being_rewritten():
    framing = ChunkedBody(10, LIMIT, LINE, LINE)
    data = b"x" * 10 + b"5\r\nhel"
    assert framing.end(data) == -1
    framing.shift(-4)
    assert framing.end(data[4:] + b"lo\r\n0\r\n\r\n") == len(data) - 4 + len(b"lo\r\n0\r\n\r\n")


# ---------------------------------------------------------------- the same framing as gunicorn's parser


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhello\r\n0\r\n\r\n",
        b'5;a=b;c\r\nhello\r\n6 ; q="x;y"\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
        b"5;e=" + b"v" * 9000 + b"\r\nhello\r\n0\r\n\r\n",
        b"0\r\n\r\n",
    ],
)
def test_gunicorn_reads_the_body_the_loop_framed_and_the_next_request_after_it(body):
    cfg = Config()
    cfg.set("limit_request_field_size", LINE)
    cfg.set("limit_request_fields", 32768)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    nxt = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    end = ChunkedBody(len(head), LIMIT, LINE, LINE).end(head + body + nxt)
    assert end == len(head) + len(body)
    parser = http.get_parser(cfg, [head + body + nxt], ("127.0.0.1", 1))
    first = next(parser)
    first.body.read()
    assert next(parser).path == "/next"
