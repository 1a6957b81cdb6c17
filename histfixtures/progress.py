"""
The progress line of long loads: ``loadfixture``, ``upgradefixture``, and
``LoadFixture`` in ``migrate``.

It is drawn on the command's stderr, only when that stream is a terminal and
the verbosity is 1 or more, so captured or redirected output never holds it.
A load that finishes within the first interval draws nothing at all; a longer
one shows ``Loading fixture 'label': N object(s)``, redrawn in place at most
every ``INTERVAL`` seconds, and ends it with a newline.

A line longer than the terminal would wrap, and every redraw would then add
a line instead of replacing one: a fixture path is shown relative to the
working directory, and shortened on the left to keep the line within 79
columns (for counts of up to seven digits).
"""

from __future__ import annotations

import os
from time import monotonic

from django.core.management.base import OutputWrapper

# Seconds between two redraws, and before the first one.
INTERVAL = 0.2

#: The widest label shown: the line stays within 79 columns up to 9,999,999.
LABEL_WIDTH = 79 - len("Loading fixture '': 1234567 object(s)")
_ELLIPSIS = "..."  # ASCII: stderr may not take other characters.


def short_label(label: str) -> str:
    """
    ``label`` as the line shows it.

    A path from the working directory when it lies there, with leading
    directories left out to fit ``LABEL_WIDTH``.
    """
    try:
        relative = os.path.relpath(label)
    except ValueError:  # Another drive (Windows).
        relative = label
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        relative = label
    if len(relative) <= LABEL_WIDTH:
        return relative
    parts = relative.split(os.sep)
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        longer = part + os.sep + tail
        if len(_ELLIPSIS + os.sep + longer) > LABEL_WIDTH:
            break
        tail = longer
    shown = _ELLIPSIS + os.sep + tail
    if len(shown) > LABEL_WIDTH:  # The file name alone is too long.
        shown = _ELLIPSIS + relative[len(_ELLIPSIS) - LABEL_WIDTH :]
    return shown


def _plain(text: str) -> str:
    # stderr's default style on a terminal is ERROR (red); progress is not one.
    return text


class Progress:
    """A count of objects for one fixture label, redrawn on a terminal."""

    def __init__(
        self, stream: OutputWrapper, label: str, *, line_in_use: bool = False
    ) -> None:
        self.stream = stream
        self.label = label
        # Whether the cursor follows other text (migrate's "Applying ..."),
        # which the first redraw must leave alone on its line.
        self.line_in_use = line_in_use
        self.shown_label = short_label(label)
        self.count = 0
        self.shown: int | None = None  # The count on screen, if any.
        # Looked up on the module at call time, so tests can replace the clock.
        self._last = _now()

    def tick(self) -> None:
        """Count one object; redraw if the interval has passed."""
        self.count += 1
        now = _now()
        if now - self._last >= INTERVAL:
            self._last = now
            self._draw()

    def finish(self) -> None:
        """Draw the final count and end the line, if anything was drawn."""
        if self.shown is not None:
            if self.shown != self.count:
                self._draw()
            self.stream.write("", style_func=_plain)
            self.stream.flush()

    def _draw(self) -> None:
        if self.shown is None and self.line_in_use:
            self.stream.write("", style_func=_plain)
        self.shown = self.count
        self.stream.write(
            f"\rLoading fixture '{self.shown_label}': {self.count} object(s)",
            style_func=_plain,
            ending="",
        )
        self.stream.flush()


def _now() -> float:
    return monotonic()


class FileProgress:
    """One progress line per fixture file, for a load that reads several."""

    def __init__(self, stream: OutputWrapper, *, line_in_use: bool = False) -> None:
        self.stream = stream
        self.line_in_use = line_in_use
        self.current: Progress | None = None

    def tick(self, fixture: str, *_: object) -> None:
        """
        Count one object of ``fixture``, ending the previous file's line.

        It takes (and ignores) the object's model too, to serve as the
        engine's ``on_object`` callback.
        """
        if self.current is None or self.current.label != fixture:
            self.finish()
            self.current = Progress(self.stream, fixture, line_in_use=self.line_in_use)
        self.current.tick()

    def finish(self) -> None:
        if self.current is not None:
            self.current.finish()
            if self.current.shown is not None:
                self.line_in_use = False  # Its line ended.
            self.current = None
