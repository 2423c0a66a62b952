"""What happened: every invocation, log line and stack frame, in `<project>/.funcstudio/studio.db`.

    db.py           open, pragmas, declared schema, forward migrations (PRAGMA user_version)
    writer.py       Recorder: the one writer thread, fed runtime events, committing them in batches
    ingest.py       RecorderProcess: what serve/the studio hold; runs the Recorder in a child process
    ingester.py     that child (`python -m studio.store.ingester`); channel.py: the frames between them
    maintenance.py  the other writes (saved requests, clear, retention): on the writer's thread, or
                    offline under the write lock when no recorder runs
    durability.py   is studio.db still the writer's file (device, inode, magic); leaving one that is not
    redact.py       what is kept of a record (one redaction pass, bodies capped)
    rows.py         row types, and the column mapping between a record and its rows
    filters.py      one table-driven filter -> SQL builder for invocations and logs
    queries.py      Reader (read-only): keyset pages, FTS search, tails, counts, one invocation whole
    wiring.py       record_runtime(runtime): recorder process + the control API's lookup and /health fields

Nothing is imported here, so `import studio.store.queries` stays cheap.
"""
