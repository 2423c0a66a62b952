"""What happened: every invocation, log line and stack frame, in `<project>/.funcstudio/studio.db`.

    db.py       open, pragmas, declared schema, forward migrations (PRAGMA user_version)
    writer.py   Recorder: the one writer thread, subscribed to the runtime's EventBus
    redact.py   what is kept of headers and bodies (secrets redacted, bodies capped)
    queries.py  Reader: keyset pages, filters, FTS search, tails, counts, saved requests
    wiring.py   record_runtime(runtime): recorder + the control API's lookup, in one call

Nothing is imported here, so `import studio.store.queries` stays cheap.
"""
