"""Text fitted to a terminal: wrapped between words to the width, never past it, and colour
only for a terminal without ``NO_COLOR``."""

from __future__ import annotations

import io
import os
import pty

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcore.terminal import StreamWrapper, cell_width, color_wanted, terminal_width, wrap

WORDS = st.lists(
    st.text(st.characters(codec="utf-8", categories=["L", "N", "P"]), min_size=1, max_size=12),
    min_size=1,
    max_size=40,
)


@given(WORDS, st.integers(min_value=20, max_value=120), st.integers(min_value=1, max_value=9))
def test_a_streamed_text_wraps_between_words_whatever_the_pieces(
    words: list[str], width: int, piece: int
) -> None:
    text = " ".join(words)
    wrapper = StreamWrapper(width, indent="  ", column=11)
    shown = "".join(wrapper.feed(text[i : i + piece]) for i in range(0, len(text), piece))
    shown += wrapper.end()
    lines = shown.split("\n")
    assert cell_width(lines[0]) <= width - 11
    assert all(cell_width(line) <= width for line in lines)
    # Every word arrives whole (none is wider than a line), in order.
    assert shown.split() == words


def test_a_word_wider_than_the_line_is_the_only_one_cut() -> None:
    url = "https://example.com/" + "a" * 60
    lines = wrap(f"see {url} now", 30, indent="  ")
    assert all(len(line) <= 30 for line in lines)
    assert lines[0] == "  see"
    assert "".join(line.strip() for line in lines[1:]) == url + " now"


def test_wrap_starts_with_its_first_prefix_and_indents_the_rest() -> None:
    text = "payment method changes wait for a supervisor's approval before they run"
    assert wrap(text, 34, first="assistant> ", indent="  ") == [
        "assistant> payment method changes",
        "  wait for a supervisor's approval",
        "  before they run",
    ]


def test_wide_characters_count_two_columns() -> None:
    assert cell_width("注文") == 4
    assert all(cell_width(line) <= 20 for line in wrap("注文 " * 30, 20))


def test_colour_needs_a_terminal_and_no_NO_COLOR(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            assert color_wanted(tty)
            monkeypatch.setenv("NO_COLOR", "1")
            assert not color_wanted(tty)
    finally:
        os.close(leader)
        os.close(follower)
    monkeypatch.delenv("NO_COLOR")
    assert not color_wanted(io.StringIO())


def test_a_pipe_is_as_wide_as_COLUMNS_or_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width(io.StringIO()) == 80
    monkeypatch.setenv("COLUMNS", "120")
    assert terminal_width(io.StringIO()) == 120
    monkeypatch.setenv("COLUMNS", "wide")
    assert terminal_width(io.StringIO()) == 80


def test_a_COLUMNS_of_zero_says_nothing_and_a_tiny_one_gets_the_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``COLUMNS=0`` (as some CI runners export it) is no width at all: 80, not the 20-column
    minimum; a terminal that reports 0 columns is treated the same way."""
    monkeypatch.setenv("COLUMNS", "0")
    assert terminal_width(io.StringIO()) == 80
    monkeypatch.setenv("COLUMNS", "5")
    assert terminal_width(io.StringIO()) == 20
    monkeypatch.setenv("COLUMNS", "-3")
    assert terminal_width(io.StringIO()) == 80
    monkeypatch.delenv("COLUMNS")
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as tty:
            assert os.get_terminal_size(tty.fileno()).columns == 0
            assert terminal_width(tty) == 80
    finally:
        os.close(leader)
        os.close(follower)


@pytest.mark.parametrize(
    "text",
    ["注文の商品は発送済みです" * 10, "https://example.com/track?" + "id=A-1001&" * 20],
    ids=["japanese", "url"],
)
def test_text_without_spaces_is_printed_line_by_line_as_it_streams(text: str) -> None:
    """Given a long run of text with no space (a Japanese paragraph, a URL) streamed a
    character at a time, each line is printed as soon as it is full, not held back until the
    next space; the lines are full and none is wider than the width."""
    wrapper = StreamWrapper(20)
    half = len(text) // 2
    shown = "".join(wrapper.feed(char) for char in text[:half])
    assert cell_width(shown.replace("\n", "")) >= cell_width(text[:half]) - 20
    shown += "".join(wrapper.feed(char) for char in text[half:]) + wrapper.end()
    lines = shown.split("\n")
    assert "".join(lines) == text
    assert all(19 <= cell_width(line) <= 20 for line in lines[:-1])
    assert cell_width(lines[-1]) <= 20


@given(
    st.text(st.sampled_from("ab注文😀"), min_size=1, max_size=300),
    st.integers(min_value=20, max_value=50),
    st.integers(min_value=1, max_value=30),
)
def test_a_run_without_spaces_keeps_every_character_and_every_line_within_the_width(
    text: str, width: int, piece: int
) -> None:
    wrapper = StreamWrapper(width, indent="  ", column=11)
    shown = "".join(wrapper.feed(text[i : i + piece]) for i in range(0, len(text), piece))
    shown += wrapper.end()
    lines = shown.split("\n")
    assert all(cell_width(line) <= width for line in lines)
    assert "".join(line.removeprefix("  ") if n else line for n, line in enumerate(lines)) == text
