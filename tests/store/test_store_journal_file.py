"""The journal file itself: lines copied into a shared mapping survive a SIGKILL, the room grows and
shrinks, and a full disk is an error the recorder handles, never a SIGBUS. Real processes, a real
tmpfs for the full disk (tests and CI run as root, so `mount` works)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from store_builders import record

from studio.store.journal import (
    MAP_INITIAL_BYTES,
    Journal,
    journal_line,
    journal_lines,
    orphans,
    parse_records,
    read_records,
)

REPO = Path(__file__).resolve().parents[2]


def lines(count: int, tag: str, body: bytes = b"ok") -> list[bytes]:
    return [journal_line(record(f"{tag}-{n}", response_body=body), 1 << 20) for n in range(count)]


def run_child(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_lines_copied_in_by_a_process_that_is_sigkilled_are_replayed(tmp_path):
    """The answer goes out after the copy: a SIGKILL right after it must not lose the line."""
    child = run_child("""
        import os, signal, sys
        from pathlib import Path
        sys.path.insert(0, os.path.join(os.environ["PYTHONPATH"], "tests", "store"))
        from store_builders import record
        from studio.store.journal import Journal, journal_line
        journal = Journal(Path(sys.argv[1]))
        for n in range(500):
            journal.append(journal_line(record(f"killed-{n}"), 1 << 20))
        print("mapped" if journal.mapped else "written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """, str(tmp_path))
    assert child.returncode == -9, child.stderr
    assert child.stdout.strip() == "mapped"
    found = list(orphans(tmp_path))
    assert len(found) == 1  # its lock died with it
    path, fd = found[0]
    try:
        records, skipped = read_records(fd)
    finally:
        os.close(fd)
    assert [r.request_id for r in records] == [f"killed-{n}" for n in range(500)] and skipped == 0


def test_only_counted_lines_are_read(tmp_path):
    """A kill between the copy and the count leaves the copied line out: it was never answered."""
    journal = Journal(tmp_path)
    first, second = lines(2, "counted")
    journal.append(first)
    data = bytearray(journal.path.read_bytes())
    journal.append(second)
    after = journal.path.read_bytes()
    journal.close(remove=False)
    assert journal_lines(bytes(data)) == first  # the second line's bytes were not there yet
    killed_before_the_count = after[:8] + bytes(data[8:16]) + after[16:]
    assert journal_lines(killed_before_the_count) == first
    assert journal_lines(after) == first + second


def test_the_journal_grows_past_its_reserved_room_and_gives_it_back(tmp_path):
    journal = Journal(tmp_path)
    assert journal.mapped and journal.path.stat().st_size == MAP_INITIAL_BYTES
    big = lines(40, "big", body=b"x" * 60_000)  # ~2.4 MB: the mapping doubles twice
    for line in big:
        journal.append(line)
    assert journal.path.stat().st_size >= 2 * MAP_INITIAL_BYTES
    assert journal.read() == b"".join(big)
    records, skipped = parse_records(journal_lines(journal.path.read_bytes()))
    assert [r.request_id for r in records] == [f"big-{n}" for n in range(40)] and skipped == 0
    journal.truncate()  # all committed
    assert journal.path.stat().st_size == MAP_INITIAL_BYTES and journal.read() == b""
    again = lines(3, "again")
    for line in again:
        journal.append(line)
    assert journal_lines(journal.path.read_bytes()) == b"".join(again)
    journal.close(remove=True)
    assert not journal.path.exists()


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()

    def mount(size: str) -> Path:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
        return folder

    yield mount
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_when_the_journal_must_grow_is_an_error_not_a_crash(small_disk):
    """Reserved room is written without a fault; past it, growing fails with OSError (the recorder
    marks the journal broken and carries on) instead of a SIGBUS killing the server. In a child
    process, so that a SIGBUS would show as its death rather than take the test run down."""
    folder = small_disk("2m")
    child = run_child("""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, os.path.join(os.environ["PYTHONPATH"], "tests", "store"))
        from store_builders import record
        from studio.store.journal import Journal, journal_line
        folder = Path(sys.argv[1])
        journal = Journal(folder / "journal")
        with open(folder / "filler", "wb") as handle:  # the rest of the disk
            try:
                while True:
                    handle.write(b"\\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        appended = 0
        try:
            while True:
                journal.append(journal_line(record(f"full-{appended}", response_body=b"y" * 20_000), 1 << 20))
                appended += 1
        except OSError as exc:
            print(appended, exc.errno, journal.mapped, len(journal.read()) == journal.size, flush=True)
    """, str(folder))
    assert child.returncode == 0, child.stderr
    appended, errno, mapped, consistent = child.stdout.split()
    assert int(appended) >= 40 and mapped == "True" and consistent == "True"  # ~1 MB of lines went in
    assert int(errno) == 28  # ENOSPC
    data = journal_lines((folder / "journal").glob("*.jsonl").__next__().read_bytes())
    assert len(parse_records(data)[0]) == int(appended)


def test_without_room_to_reserve_the_journal_writes_plain_lines(small_disk):
    folder = small_disk("512k")  # less than the reserved room
    journal = Journal(folder / "journal")
    assert not journal.mapped
    written = lines(5, "plain")
    for line in written:
        journal.append(line)
    assert journal.path.read_bytes() == b"".join(written) == journal.read()
    journal.truncate()
    assert journal.path.read_bytes() == b""
    journal.close(remove=True)


def test_a_forked_process_does_not_get_the_mapping(tmp_path):
    """Worker instances are forked, and run user code: the journal's pages are not theirs to touch
    (MADV_DONTFORK). In the forked child the range is gone: reading it is a segmentation fault."""
    child = run_child("""
        import os, signal, sys
        from pathlib import Path
        from studio.store.journal import Journal
        journal = Journal(Path(sys.argv[1]))
        journal.append(b'{"request_id": "mine"}\\n')
        pid = os.fork()
        if pid == 0:
            os.write(1, b"forked\\n")
            journal.read()  # touches the mapping
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(os.WTERMSIG(status) if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}", flush=True)
        print(journal.read().decode(), flush=True)
    """, str(tmp_path))
    assert child.returncode == 0, child.stderr
    forked, signal_number, kept = child.stdout.split("\n")[:3]
    assert forked == "forked" and int(signal_number) == 11  # SIGSEGV in the fork only
    assert kept == '{"request_id": "mine"}'
