"""Pinned versus installed: a project that pins a framework version runs locally on whatever is
installed, and routing, validation or the adapter itself can differ from what the deploy installs.

Every framework the project's functions use (and, on EdgeOne, the packages the build always adds)
is compared with the requirement line that applies to it; a version the line excludes is a
warning naming both. The installed version is read from the workers' interpreter without running
it: the `*.dist-info` folders of its environment, or this process's metadata when the workers use
funcstudio's own interpreter.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from studio.project.model import Problem, Project

FRAMEWORK_DISTRIBUTIONS = {
    "flask": "flask", "django": "django", "fastapi": "fastapi", "starlette": "starlette", "sanic": "sanic",
    "quart": "quart", "bottle": "bottle", "cocopot": "cocopot",
}
"""`Function.framework` -> its distribution."""

_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([<>=!~][^;#]*)?")


def requirement_spec(line: str) -> tuple[str, SpecifierSet | None] | None:
    """(normalised name, specifier or None) of a requirement line; None when it is no requirement."""
    match = _LINE.match(line)
    if not match:
        return None
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = (match.group(2) or "").strip()
    if not spec:
        return name, None
    try:
        return name, SpecifierSet(spec.replace(" ", ""))
    except InvalidSpecifier:
        return name, None


def installed_versions(interpreter: Path | None) -> dict[str, str]:
    """Normalised distribution name -> version in the workers' environment."""
    if interpreter is None:
        found = {}
        for dist in metadata.distributions():
            name = dist.metadata.get("Name") if dist.metadata else None
            if name:
                found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
        return found
    found = {}
    env = interpreter.parent.parent
    for site in list(env.glob("lib/python*/site-packages")) + list(env.glob("Lib/site-packages")):
        for info in site.glob("*.dist-info"):
            stem = info.name[: -len(".dist-info")]
            name, _, version = stem.rpartition("-")
            if name:
                found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), version)
    return found


def pin_mismatches(project: Project, user_lines: dict[str, list[tuple[str, str]]], interpreter: Path | None,
                   always: tuple[str, ...] = ()) -> list[Problem]:
    """DEP-VERSION-MISMATCH for each framework whose installed version the applicable line excludes.

    `user_lines` maps a project-relative requirements file to its (line, origin) pairs; each
    function's framework is checked against the file that applies to its platform (EdgeOne: the
    build's file, given under the key "edgeone"; SCF: its code folder's requirements.txt)."""
    wanted: dict[str, set[str]] = {}
    for fn in project.functions:
        dist = FRAMEWORK_DISTRIBUTIONS.get(fn.framework or "")
        key = "edgeone" if fn.platform == "edgeone" else (f"{fn.code_root}/requirements.txt".lstrip("/")
                                                          if fn.platform == "scf" else None)
        if key is None:
            continue
        if dist:
            wanted.setdefault(key, set()).add(dist)
        if fn.platform == "edgeone":
            wanted.setdefault(key, set()).update(a.split(">")[0].split("=")[0] for a in always)
    if not wanted:
        return []
    installed = installed_versions(interpreter)
    problems = []
    for key, dists in wanted.items():
        for line, origin in user_lines.get(key, []):
            parsed = requirement_spec(line)
            if parsed is None or parsed[1] is None or parsed[0] not in dists:
                continue
            name, spec = parsed
            have = installed.get(name)
            if have is None:
                continue
            try:
                ok = Version(have) in spec
            except InvalidVersion:
                continue
            if not ok:
                problems.append(Problem(
                    "warning", "DEP-VERSION-MISMATCH",
                    f"{origin} asks for `{line.strip()}`, but the workers run {name} {have}: locally the "
                    "project runs on a version the deploy will not install (routing and validation can differ)",
                    file=origin.split(":")[0],
                    hint=f"Install the pinned version in the workers' environment (pip install '{line.strip()}'), "
                         "or update the pin.",
                ))
    return problems
