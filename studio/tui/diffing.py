"""A readable diff of two invocations (before and after a replay): status, body and logs."""

from __future__ import annotations

import difflib
import json

from rich.text import Text


def _pretty(body: str) -> list[str]:
    try:
        return json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    except (ValueError, TypeError):
        return (body or "").splitlines()


def _logs(record: dict) -> list[str]:
    """One diff line per line of text: a multi-line entry (a traceback) is marked on every line it
    changed, not only on its first."""
    out: list[str] = []
    for line in record.get("logs") or []:
        first, *rest = str(line.get("text") or "").split("\n")
        out.append(f"{line.get('level') or line.get('stream')}: {first}")
        out += [f"    {more}" for more in rest]
    return out


def diff_records(before: dict, after: dict) -> tuple[Text, bool]:
    """(coloured unified diff, whether anything differs)."""
    out = Text()
    changed = False
    b_status, a_status = before.get("status"), after.get("status")
    out.append(f"status  {b_status} → {a_status}\n", style="bold" if b_status != a_status else "")
    changed |= b_status != a_status
    b_err = (before.get("error") or {}).get("type")
    a_err = (after.get("error") or {}).get("type")
    if b_err or a_err:
        out.append(f"error   {b_err or '-'} → {a_err or '-'}\n", style="bold")
        changed |= b_err != a_err
    for title, left, right in (
        ("body", _pretty(before.get("body", "")), _pretty(after.get("body", ""))),
        ("logs", _logs(before), _logs(after)),
    ):
        lines = list(difflib.unified_diff(left, right, "before", "after", lineterm="", n=2))
        out.append(f"\n── {title} ", style="bold")
        if not lines:
            out.append("(same)\n", style="dim")
            continue
        changed = True
        out.append("\n")
        for line in lines[2:]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else \
                "cyan" if line.startswith("@@") else ""
            out.append(line + "\n", style=style)
    return out, changed
