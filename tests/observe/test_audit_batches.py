"""The audit log writes the events of one turn of the event loop together, at the turn's end,
and loses none: not those written without a loop, not those pending when it is closed, not
those the file cannot take (they go to the application log)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

import pytest

from konnect.observe import AuditLog
from konnect.observe.audit import FileWriter, LineBatches


def test_a_loop_turn_writes_its_lines_in_one_call() -> None:
    writes: list[list[str]] = []
    batches = LineBatches(writes.append)

    async def turn() -> list[list[str]]:
        for line in ("a", "b", "c"):
            batches.write(line)
        before_the_turn_ends = list(writes)
        await asyncio.sleep(0)
        return before_the_turn_ends

    assert asyncio.run(turn()) == []
    assert writes == [["a", "b", "c"]]


def test_without_a_loop_each_line_is_written_at_once_after_those_pending() -> None:
    writes: list[list[str]] = []
    batches = LineBatches(writes.append)

    async def pending_then_from_a_thread() -> None:
        batches.write("on the loop")
        thread = threading.Thread(target=batches.write, args=("from a thread",))
        thread.start()
        thread.join()

    asyncio.run(pending_then_from_a_thread())
    assert writes == [["on the loop", "from a thread"]]
    batches.write("no loop")
    assert writes[-1] == ["no loop"]


def test_closing_writes_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog.open(str(path))

    async def event_then_close() -> None:
        audit.event("sign_out", user="alice")
        audit.close()

    asyncio.run(event_then_close())
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["event"] == "sign_out"


def test_events_keep_their_order_and_times_across_seconds(tmp_path: Path) -> None:
    times = iter([1_700_000_000.25, 1_700_000_000.999, 1_700_000_001.0])
    path = tmp_path / "audit.jsonl"
    audit = AuditLog.open(str(path), clock=lambda: next(times))
    for number in range(3):
        audit.event("n", number=number)
    audit.close()
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [event["number"] for event in events] == [0, 1, 2]
    assert [event["time"] for event in events] == [
        "2023-11-14T22:13:20.250Z",
        "2023-11-14T22:13:20.999Z",
        "2023-11-14T22:13:21.000Z",
    ]


def test_lines_that_cannot_be_written_go_to_the_log_and_writing_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    file = FileWriter(Path("/dev/full"))  # every write fails: no space left on the device
    writer = LineBatches(file, file.close)
    with caplog.at_level(logging.ERROR, logger="konnect.observe.audit"):
        writer.write('{"event":"sign_in","user":"alice"}')
        writer.write('{"event":"sign_out","user":"alice"}')
    logged = [record.getMessage() for record in caplog.records]
    assert any("not written (" in message and "No space left" in message for message in logged)
    assert any('"sign_in"' in message for message in logged)
    assert any('"sign_out"' in message for message in logged)
    writer.close()
    writer.write('{"event":"late"}')
    assert "the server has shut down" in caplog.records[-2].getMessage()


def test_text_that_is_not_unicode_is_written_escaped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog.open(str(path))
    audit.event("sign_in_failed", user="jonas\ud800")  # a lone surrogate, sent as a JSON escape
    audit.close()
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert "jonas\\ud800" in line
    assert json.loads(line)["user"] == "jonas\ud800"
