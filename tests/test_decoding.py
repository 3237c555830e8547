"""The UTF-8 validity check gives exactly ``bytes.decode``'s answer, chunk boundaries or not."""

from __future__ import annotations

import random

import pytest

from newsmirror.html import _UTF8_CHUNK, _is_utf8

# Well-formed sequences of each length, and every kind of ill-formed one: surrogates, overlongs,
# code points past U+10FFFF, bytes that never occur, lone continuations, cut sequences.
PIECES = [
    b"a", b"<p>", b"\n", b"\x00", b"\x7f",
    "é".encode(), "中".encode(), "\uffff".encode(), "😀".encode(), "\U0010ffff".encode(),
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\x9f\xbf",  # surrogates U+D800, U+DFFF; U+D7FF is fine
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff",
    b"\x80", b"\xbf", b"\xc2", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xe4", b"\xf0\x9f",
]


def _decodes(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("seed", range(40))
def test_utf8_check_agrees_with_decode_on_random_bytes_at_any_chunk_size(seed):
    rng = random.Random(seed)
    for _ in range(200):
        valid_only = rng.random() < 0.5  # half the bodies valid, so both answers get tested
        pieces = PIECES[:10] if valid_only else PIECES
        body = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        for chunk in (4, 5, 6, 7, 16, _UTF8_CHUNK):
            assert _is_utf8(body, chunk) is _decodes(body), (body, chunk)


@pytest.mark.parametrize("piece", PIECES)
@pytest.mark.parametrize("shift", range(-4, 5))
def test_utf8_check_agrees_with_decode_across_the_real_chunk_boundary(piece, shift):
    """Each sequence, well- or ill-formed, straddling (or ending, or starting) the default
    chunk's end, in a page-sized body; then at the very end of the body."""
    head = "中".encode() * ((_UTF8_CHUNK + shift) // 3) + b"a" * ((_UTF8_CHUNK + shift) % 3)
    for body in (head + piece + b"tail" * 100, head + piece, head[: _UTF8_CHUNK * 2 - 2] + piece):
        assert _is_utf8(body) is _decodes(body), (len(body), piece)


def test_utf8_check_of_empty_and_exact_chunk_sizes():
    for size in (0, 1, _UTF8_CHUNK - 1, _UTF8_CHUNK, _UTF8_CHUNK + 1, 2 * _UTF8_CHUNK):
        assert _is_utf8(b"a" * size)
        assert not _is_utf8(b"a" * size + b"\xe4\xb8")
        assert not _is_utf8(b"\xff" + b"a" * size)
