"""`funcstudio db [PROJECT] seed FILE.json | dump [COLLECTION] | collections`: the local CocoBase database.

The database is `<project>/.funcstudio/cocobase.db`, the same file the CocoBase `db` global of
every function uses (studio.runtime.worker.cocobase_db).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

ACTIONS = ("seed", "dump", "collections")


def _split(args: tuple[str, ...]) -> tuple[Path, str, list[str]]:
    if not args:
        raise click.UsageError("expected [PROJECT] seed FILE.json | dump [COLLECTION] | collections")
    if args[0] in ACTIONS:
        return Path("."), args[0], list(args[1:])
    if len(args) < 2:
        raise click.UsageError(f"expected an action after the project: {' | '.join(ACTIONS)}")
    if args[1] not in ACTIONS:
        raise click.UsageError(f"unknown action {args[1]!r}: {' | '.join(ACTIONS)}")
    return Path(args[0]), args[1], list(args[2:])


def open_database(project: Path):
    from studio.project.settings import load_settings
    from studio.runtime.worker.cocobase_db import Database

    settings, _problems = load_settings(project)
    folder = project / ".funcstudio"
    folder.mkdir(parents=True, exist_ok=True)
    return Database(str(folder / "cocobase.db"), settings.cocobase.project_id)


@click.command("db", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--reset", is_flag=True, help="seed: delete every document and user first.")
def db(args: tuple[str, ...], reset: bool) -> None:
    """Seed and inspect the local CocoBase database of PROJECT (default: the current folder).

    \b
    funcstudio db [PROJECT] seed FILE.json [--reset]   load {"collections": {name: [doc...]}, "users": [...]}
    funcstudio db [PROJECT] dump [COLLECTION]          print documents (and users) as JSON
    funcstudio db [PROJECT] collections                list collections with their document counts
    """
    from studio.runtime.worker.cocobase_db import DatabaseError

    project, action, rest = _split(args)
    if not project.is_dir():
        raise click.UsageError(f"project folder {str(project)!r} does not exist")
    if action == "seed" and len(rest) != 1 or action == "dump" and len(rest) > 1 or action == "collections" and rest:
        raise click.UsageError(f"wrong arguments for `db {action}`")
    database = open_database(project)
    try:
        if action == "seed":
            path = Path(rest[0])
            try:
                payload = json.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
            except ValueError as exc:
                raise click.ClickException(f"{path} is not JSON: {exc}") from None
            if reset:
                for table in ("documents", "collections", "app_users", "user_relationships"):
                    database.conn.execute(f"DELETE FROM {table}")
            counts = database.seed(payload)
            total = ", ".join(f"{name}: {n}" for name, n in counts.items()) or "nothing"
            click.echo(f"seeded {database.path} ({total})")
        elif action == "dump":
            click.echo(json.dumps(database.dump(rest[0] if rest else None), indent=2, ensure_ascii=False))
        else:
            rows = database.conn.execute(
                "SELECT collection, COUNT(*) FROM documents GROUP BY collection ORDER BY collection").fetchall()
            for name, count in rows:
                click.echo(f"{name}\t{count}")
    except DatabaseError as exc:
        again = " (nothing was written; `--reset` seeds into an empty database)" if (
            action == "seed" and not reset and "already exists" in str(exc)) else ""
        raise click.ClickException(f"{exc}{again}") from None
    finally:
        database.close()
