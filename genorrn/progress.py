"""Progress of long runs on stderr, on a terminal and in logs.

* On a terminal: a tqdm bar whose rate and time left are genorrn's own (below), not tqdm's.
* Anywhere else (a pipe, a log file, a cluster job's output): one plain line at least every
  ``interval`` seconds (30) and at every tenth of the work, and a last line with the total
  time and rate. Runs shorter than ``quiet`` seconds (5) print nothing, so short commands and
  tests stay silent.
* Rate and ETA leave out the first update: the first model call also builds and traces the
  step model (seconds), which made a rate from it tens of times too slow. No ETA is shown
  before the second update.
"""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _count(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


class Progress:
    """Counts work done (``update(n)``) towards ``total`` (None: unknown) and reports it on
    ``file`` (stderr): a bar on a terminal, lines elsewhere (see the module doc).
    ``enabled=False`` reports nothing; ``terminal`` overrides the terminal test."""

    def __init__(self, total: int | None, description: str, unit: str = "nt", *,
                 file=None, interval: float = 30.0, fraction: float = 0.1, quiet: float = 5.0,
                 enabled: bool = True, terminal: bool | None = None,
                 clock=time.perf_counter):  # fmt: skip
        self.total, self.description, self.unit = total, description, unit
        self.file = file if file is not None else sys.stderr
        self.interval, self.fraction, self.quiet = interval, fraction, quiet
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.updates = 0
        #: time and count at the first update: the rate is measured from there
        self.warm: tuple[float, int] | None = None
        #: time of the latest update
        self.last_update: float | None = None
        self.enabled = enabled
        if terminal is None:
            try:
                terminal = self.file.isatty()
            except (AttributeError, ValueError):
                terminal = False
        self.terminal = terminal and enabled
        self.bar = None
        if self.terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, unit_scale=True, desc=description,
                            file=self.file, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")  # fmt: skip
        self.lines = 0
        self.last_line = self.start
        self.next_mark = fraction

    # -- numbers ---------------------------------------------------------------------------
    @property
    def rate(self) -> float:
        """Work per second since the start (start-up included; for summaries)."""
        return self.done / max(self.clock() - self.start, 1e-9)

    def steady_rate(self) -> float | None:
        """Work per second between the first and the latest update (start-up excluded), None
        before a second update."""
        if self.warm is None:
            return None
        t0, n0 = self.warm
        elapsed = self.last_update - t0
        return (self.done - n0) / elapsed if elapsed > 0 and self.done > n0 else None

    def eta(self) -> float | None:
        """Seconds left at the steady rate (None: unknown total, or too early)."""
        rate = self.steady_rate()
        if rate is None or not self.total:
            return None
        return max(self.total - self.done, 0) / rate

    # -- updates ---------------------------------------------------------------------------
    def update(self, n: int) -> None:
        self.done += n
        self.updates += 1
        now = self.clock()
        self.last_update = now
        if self.warm is None:
            self.warm = (now, self.done)
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix_str(self._speed(), refresh=False)
            return
        if now - self.start < self.quiet:
            return
        crossed = bool(self.total) and self.done >= self.next_mark * self.total
        if crossed or now - self.last_line >= self.interval:
            self._line(self._status())
            if self.total:
                while self.next_mark * self.total <= self.done:
                    self.next_mark += self.fraction

    def _speed(self) -> str:
        rate, eta = self.steady_rate(), self.eta()
        if rate is None:
            return ", warming up"
        text = f", {_count(rate)} {self.unit}/s"
        return text + (f", ETA {_duration(eta)}" if eta is not None else "")

    def _status(self) -> str:
        done = f"{self.done:,}"
        if self.total:
            done += f"/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            done += f" {self.unit}"
        return f"{self.description}: {done}, {_duration(self.clock() - self.start)}{self._speed()}"

    def _line(self, text: str) -> None:
        print(text, file=self.file, flush=True)
        self.lines += 1
        self.last_line = self.clock()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.enabled and self.lines:
            elapsed = self.clock() - self.start
            self._line(f"{self.description}: done, {self.done:,} {self.unit} in "
                       f"{_duration(elapsed)} ({_count(self.rate)} {self.unit}/s)")  # fmt: skip
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
