"""Read side of the stream files: events by byte offset, stream summaries.

A position in a stream is the byte offset of a line, so a reader that follows a stream seeks
straight to where it stopped. Only complete lines count: the writer may be mid-line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

MAX_REPLY_BYTES = 1_048_576  # GetLogEvents and FilterLogEvents answer at most 1 MB of events
EVENT_OVERHEAD = 26  # bytes CloudWatch counts per event on top of its message


@dataclass(frozen=True)
class Event:
    timestamp: int
    message: str
    offset: int  # of its line in the stream file
    end: int  # offset of the next line


@dataclass(frozen=True)
class StreamInfo:
    name: str
    path: Path
    created: int
    first_event: int | None
    last_event: int | None
    last_ingestion: int
    size: int


def stream_names(group_dir: Path) -> list[tuple[str, Path]]:
    """(name, path) of every stream of a group, by name."""
    try:
        entries = list(os.scandir(group_dir))
    except FileNotFoundError:
        return []
    return sorted((unquote(entry.name), Path(entry.path)) for entry in entries if entry.is_file())


def stored_bytes(group_dir: Path) -> int:
    total = 0
    for _, path in stream_names(group_dir):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def _parse(line: bytes, offset: int) -> Event | None:
    stamp, tab, message = line.partition(b"\t")
    if not tab or not stamp.isdigit():
        return None
    text = message.decode("utf-8", "replace").replace("\r", "\n")
    return Event(int(stamp), text, offset, offset + len(line) + 1)


def _complete(data: bytes) -> bytes:
    """Up to the last newline: a line still being written is not an event yet."""
    return data[: data.rfind(b"\n") + 1]


def events_from(path: Path, offset: int = 0) -> Iterator[Event]:
    """Every complete event at or after ``offset``, in file order."""
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            data = _complete(stream.read())
    except FileNotFoundError:
        return
    yield from _events(data, offset)


def events_before(path: Path, end: int) -> list[Event]:
    """Every complete event that ends at or before ``end``, in file order."""
    try:
        with open(path, "rb") as stream:
            data = _complete(stream.read(end))
    except FileNotFoundError:
        return []
    return list(_events(data, 0))


def _events(data: bytes, position: int) -> Iterator[Event]:
    for line in data.split(b"\n")[:-1]:
        event = _parse(line, position)
        position += len(line) + 1
        if event is not None:
            yield event


def complete_size(path: Path) -> int:
    """Where the next complete line will start: the forward position of "the end, for now"."""
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            back = min(size, 65536)
            while True:
                stream.seek(size - back)
                newline = stream.read(back).rfind(b"\n")
                if newline >= 0:
                    return size - back + newline + 1
                if back == size:
                    return 0
                back = min(size, back * 4)
    except FileNotFoundError:
        return 0


def first_event(path: Path) -> Event | None:
    return next(events_from(path), None)


def last_event(path: Path) -> Event | None:
    end = complete_size(path)
    if end == 0:
        return None
    start = max(0, end - 65536)
    while True:
        with open(path, "rb") as stream:
            stream.seek(start)
            data = stream.read(end - start)
        lines = data.split(b"\n")[:-1]
        if start == 0 or len(lines) > 1:
            line = lines[-1]
            return _parse(line, end - len(line) - 1)
        start = max(0, start - 4 * (end - start))


def stream_info(name: str, path: Path) -> StreamInfo:
    stat = path.stat()
    first = first_event(path)
    last = last_event(path)
    ingested = int(stat.st_mtime * 1000)
    return StreamInfo(
        name=name,
        path=path,
        created=first.timestamp if first else ingested,
        first_event=first.timestamp if first else None,
        last_event=last.timestamp if last else None,
        last_ingestion=ingested,
        size=stat.st_size,
    )


Visible = Callable[[int], bool]  # is an event of this timestamp in the window asked for?


@dataclass(frozen=True)
class Page:
    """GetLogEvents' answer: the events, and the positions its backward and forward tokens name."""

    events: list[Event]
    back: int
    ahead: int


def _cost(event: Event) -> int:
    return len(event.message.encode()) + EVENT_OVERHEAD


def read_forward(path: Path, position: int, limit: int, visible: Visible) -> Page:
    chosen: list[Event] = []
    stop = position
    size = 0
    for event in events_from(path, position):
        if len(chosen) == limit or (chosen and size + _cost(event) > MAX_REPLY_BYTES):
            break
        stop = event.end
        if visible(event.timestamp):
            chosen.append(event)
            size += _cost(event)
    return Page(chosen, chosen[0].offset if chosen else position, stop)


def read_backward(path: Path, position: int, limit: int, visible: Visible) -> Page:
    """The newest ``limit`` visible events before ``position`` that fit in one reply, in time order."""
    chosen = [event for event in events_before(path, position) if visible(event.timestamp)][-limit:]
    size = 0
    for index in range(len(chosen) - 1, -1, -1):
        size += _cost(chosen[index])
        if size > MAX_REPLY_BYTES and index < len(chosen) - 1:
            chosen = chosen[index + 1 :]
            break
    return Page(chosen, chosen[0].offset if chosen else 0, chosen[-1].end if chosen else position)


Position = tuple[int, str, int]  # (timestamp, stream, offset): the order FilterLogEvents interleaves streams in


def search(
    streams: list[tuple[str, Path]],
    visible: Visible,
    matches: Callable[[str], bool],
    after: Position | None,
    limit: int,
) -> tuple[list[tuple[Position, Event]], bool]:
    """Matching events of all ``streams`` after ``after``, interleaved by time; and whether more remain."""
    found: list[tuple[Position, Event]] = []
    for name, path in streams:
        for event in events_from(path):
            key = (event.timestamp, name, event.offset)
            if visible(event.timestamp) and (after is None or key > after) and matches(event.message):
                found.append((key, event))
    found.sort(key=lambda item: item[0])
    page = found[:limit]
    size = 0
    for index, (_, event) in enumerate(page):
        size += _cost(event)
        if size > MAX_REPLY_BYTES and index:
            page = page[:index]
            break
    return page, len(page) < len(found)
