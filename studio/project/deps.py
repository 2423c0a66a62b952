"""Dependencies the way the EdgeOne build computes them (RUNTIME_SPEC.md §2.10), and what it would miss.

The build's `requirements.txt` is the union of: packages it always adds, packages mapped from a
regex scan of the imports (only names in its table; the first name of each statement), and the
user's lines from `cloud-functions/requirements.txt` if it exists, else the root one (never both).
A user's line wins over a computed line for the same package.

On top of that, funcstudio reports third-party imports that none of these cover (EO-UNDECLARED-DEP):
they install nowhere and fail with `ModuleNotFoundError` in production. SCF functions get the same
check against a `requirements.txt` in their code folder.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from studio.project import files, import_cache
from studio.project._common import EXCLUDED_DIRS, rel
from studio.project.model import Problem, Project

ALWAYS: tuple[str, ...] = ("werkzeug>=2.0.0", "flask>=2.0.0", "uvicorn>=0.20.0")

IMPORT_TABLE: dict[str, tuple[str, ...]] = {
    "fastapi": ("fastapi>=0.100.0",),
    "django": ("django>=4.0",),
    "starlette": ("starlette>=0.27.0",),
    "sanic": ("sanic>=21.0", "httptools>=0.5.0", 'uvloop>=0.17.0;sys_platform!="win32"'),
    "httptools": ("httptools>=0.5.0",),
    "quart": ("quart>=0.18.0",),
    "tornado": ("tornado>=6.0",),
    "aiohttp": ("aiohttp>=3.8.0",),
    "bottle": ("bottle>=0.12.0",),
    "falcon": ("falcon>=3.0.0",),
    "httpx": ("httpx>=0.24.0",),
    "requests": ("requests>=2.28.0",),
    "pydantic": ("pydantic>=2.0.0",),
    "sqlalchemy": ("sqlalchemy>=2.0.0",),
    "redis": ("redis>=4.0.0",),
    "pymongo": ("pymongo>=4.0.0",),
    "celery": ("celery>=5.0.0",),
    "bcrypt": ("bcrypt>=4.0.0",),
    "cryptography": ("cryptography>=40.0.0",),
    "numpy": ("numpy>=1.24.0",),
    "pandas": ("pandas>=2.0.0",),
    "psycopg2": ("psycopg2-binary>=2.9.0",),
    "mysql": ("mysql-connector-python>=8.0.0",),
    "jwt": ("pyjwt>=2.0.0",),
    "pillow": ("pillow>=9.0.0",),  # keyed `pillow`: `import PIL` is not mapped
}
"""Import name -> the lines the build adds. Unlisted imports add nothing."""

IMPORT_SCAN = re.compile(r"(?:^|\n)\s*(?:from\s+(\w+)|import\s+(\w+))")
"""The build's own import regex: only the first name of a statement counts."""

REQUIREMENTS = "requirements.txt"
_SKIP = EXCLUDED_DIRS | {".edgeone", ".funcstudio"}
"""Never scanned: the build's excluded folders and tools' output."""
EDGEONE_DIR = "cloud-functions"

# Import names whose distribution is named differently (for the hint and for --write).
_DISTRIBUTION_OF: dict[str, str] = {
    "PIL": "pillow", "yaml": "pyyaml", "bs4": "beautifulsoup4", "dotenv": "python-dotenv",
    "cv2": "opencv-python", "sklearn": "scikit-learn", "dateutil": "python-dateutil", "jose": "python-jose",
    "attr": "attrs", "Crypto": "pycryptodome", "magic": "python-magic", "jwt": "pyjwt",
    "psycopg2": "psycopg2-binary", "mysql": "mysql-connector-python", "google": "google-api-core",
    "tencentcloud": "tencentcloud-sdk-python", "qcloud_cos": "cos-python-sdk-v5", "multipart": "python-multipart",
    "docx": "python-docx", "serial": "pyserial", "zmq": "pyzmq", "MySQLdb": "mysqlclient", "OpenSSL": "pyopenssl",
}


SCF_PROVIDED: dict[str, frozenset[str]] = {
    # https://cloud.tencent.com/document/product/583/11061 ("Python 3.6 云端运行时已支持的库"): the
    # libraries the Python 3.6 runtime ships, by import name. The same page says Python 3.7 and later
    # ship none ("For Python 3.7 and later, the platform no longer has additional built-in dependent
    # libraries"), so those runtimes provide only the standard library.
    "python3.6": frozenset({
        "absl", "asn1crypto", "astor", "bleach", "certifi", "cffi", "chardet", "qcloud_cos", "qcloud_cos_v5",
        "cryptography", "dicttoxml", "gast", "grpc", "html5lib", "idna", "iniparse", "markdown", "MySQLdb",
        "numpy", "PIL", "pip", "google", "psycopg2", "pycparser", "pycurl", "pymysql", "pytz", "qcloud_image",
        "qcloudsms_py", "requests", "serverless_db_sdk", "setuptools", "pkg_resources", "six", "tencentcloud",
        "tencentserverless", "tensorboard", "tensorflow", "tensorflow_serving", "termcolor", "urllib3",
        "werkzeug", "wheel",
    }),
}
"""Declared runtime (lower-case) -> import names the SCF runtime already provides."""

PYTHON2_ONLY: frozenset[str] = frozenset({
    "__builtin__", "anydbm", "BaseHTTPServer", "Bastion", "CGIHTTPServer", "commands", "ConfigParser", "Cookie",
    "cookielib", "copy_reg", "cPickle", "cStringIO", "dbhash", "DocXMLRPCServer", "dumbdbm", "dummy_thread",
    "exceptions", "gdbm", "htmlentitydefs", "HTMLParser", "httplib", "markupbase", "md5", "mimetools",
    "mimetypes2", "new", "popen2", "Queue", "repr", "rexec", "rfc822", "robotparser", "sets", "sha",
    "SimpleHTTPServer", "SimpleXMLRPCServer", "SocketServer", "StringIO", "thread", "Tkinter", "tkMessageBox",
    "urllib2", "urlparse", "UserDict", "UserList", "UserString", "whichdb", "xmlrpclib",
})
"""Python 2 standard-library modules: code that imports them is Python 2 code (or its fallback
branch), never a missing package."""

STDLIB_310_EXTRA: frozenset[str] = frozenset({
    "asynchat", "asyncore", "distutils", "imp", "smtpd", "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt",
    "imghdr", "lib2to3", "mailcap", "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau",
    "telnetlib", "uu", "xdrlib",
})
"""Standard-library modules of Python 3.10 (the platforms' Python) that later interpreters dropped."""

_VERSION_GUARD = re.compile(r"\b(?:version_info|hexversion|PY2|PY3\w*|PYTHON2|PYTHON3|IS_PY2|IS_PY3|is_py2|is_py3|"
                            r"py2|py3|sys\.version|sys\.platform|os\.name|platform\.system)\b")
"""An `if` on the interpreter version or the operating system: imports under it are conditional
by construction (the Python 2 branch, the Windows branch)."""


@dataclass(frozen=True)
class Requirement:
    line: str
    """The requirement as the platform writes it (`fastapi>=0.100.0`)."""
    package: str
    """Normalised distribution name (`fastapi`), the key duplicates resolve on."""
    source: str
    """`always`, `import` or `user`."""
    origin: str = ""
    """Where it came from: `cloud-functions/api/x.py:3` for imports, the file for user lines."""


@dataclass(frozen=True)
class Requirements:
    """What the EdgeOne build would install, and what it would miss."""

    requirements: tuple[Requirement, ...] = ()
    user_file: str | None = None
    """The requirements file the platform reads (project-relative), or None when there is none."""
    shadowed_file: str | None = None
    """The root requirements file, when `cloud-functions/requirements.txt` hides it."""
    missing: tuple[Problem, ...] = ()
    """EO-UNDECLARED-DEP / SCF-UNDECLARED-DEP problems: third-party imports nothing installs."""
    problems: tuple[Problem, ...] = ()
    """Everything else found on the way (EO-REQS-SHADOWED)."""
    edgeone: bool = False
    """False when the project has no `cloud-functions/` folder (nothing is computed)."""

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(r.line for r in self.requirements)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(r.source for r in self.requirements)

    @property
    def target(self) -> str:
        """Where `funcstudio deps --write` writes: the file the platform reads."""
        return self.user_file or f"{EDGEONE_DIR}/{REQUIREMENTS}"


def package_name(line: str) -> str | None:
    """The normalised distribution name of a requirement line (`Flask[async]>=2` -> `flask`)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    if not match:
        return None
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def compute_requirements(project: Project) -> Requirements:
    """The requirements the EdgeOne build would install for `project`, with their sources."""
    root = Path(project.root)
    import_cache.load(root, _IMPORTS_CACHE)
    parsed_before = _PARSED
    problems: list[Problem] = []
    missing: list[Problem] = []
    edge_dir = root / EDGEONE_DIR
    edgeone = edge_dir.is_dir()
    requirements: list[Requirement] = []
    user_file = shadowed = None
    if edgeone:
        inner, outer = edge_dir / REQUIREMENTS, root / REQUIREMENTS
        if inner.is_file():
            user_file = rel(inner, root)
            if outer.is_file():
                shadowed = rel(outer, root)
                problems.append(Problem(
                    "warning", "EO-REQS-SHADOWED",
                    f"both {user_file} and {shadowed} exist: the build reads only {user_file}",
                    file=shadowed, hint=f"Move its lines into {user_file} and delete it.",
                ))
        elif outer.is_file():
            user_file = rel(outer, root)
        user_lines = _user_lines(root / user_file, root) if user_file else []
        if user_file:
            unreadable = files.read_source(root / user_file).problem(user_file, severity="warning")
            if unreadable is not None:
                problems.append(unreadable)
        user_packages = {r.package for r in user_lines}

        computed: list[Requirement] = [Requirement(line, package_name(line) or line, "always") for line in ALWAYS]
        edge_tree = files.walk_tree(edge_dir, _SKIP, inside=root)
        edge_files = [p for p in edge_tree.files if p.name.endswith(".py")]
        scanned = _scan_edgeone_imports(edge_files, root)
        for name, origin in scanned:
            for line in IMPORT_TABLE.get(name, ()):
                computed.append(Requirement(line, package_name(line) or line, "import", origin))
        seen: set[str] = set()
        for req in computed:
            if req.package in user_packages or req.package in seen:
                continue
            seen.add(req.package)
            requirements.append(req)
        requirements.extend(user_lines)

        installed = {r.package for r in requirements}
        local = _local_modules(edge_tree)
        entries = frozenset(root / fn.entry for fn in project.functions if fn.platform == "edgeone")
        missing.extend(_undeclared(edge_files, root, installed, local, "EO-UNDECLARED-DEP",
                                   user_file or f"{EDGEONE_DIR}/{REQUIREMENTS}", entries))

    for fn in project.functions:
        if fn.platform != "scf":
            continue
        src = root / fn.code_root if fn.code_root else root
        if not src.is_dir():
            continue
        req_path = src / REQUIREMENTS
        packages = {r.package for r in _user_lines(req_path, root)} if req_path.is_file() else set()
        packages |= {package_name(name) for name in SCF_PROVIDED.get((fn.runtime or "").lower(), ())}
        # An SCF code folder that is the whole project must not answer for the other platforms' files.
        tree = files.walk_tree(src, _SKIP | {EDGEONE_DIR, "cocobase"}, inside=root)
        # Only what the handler can import runs in production: a vendored SDK's examples, setup.py
        # and platform-specific modules that nothing imports never fail there.
        reachable = reachable_files(root / fn.entry, src, frozenset(tree.rel_files))
        missing.extend(_undeclared(reachable, root, packages,
                                   _local_modules(tree),
                                   "SCF-UNDECLARED-DEP",
                                   rel(req_path, root), frozenset({root / fn.entry})))
    missing = list({(p.file, p.line, p.message): p for p in missing}.values())
    if _PARSED != parsed_before:
        import_cache.save(root, _IMPORTS_CACHE)
    return Requirements(tuple(requirements), user_file, shadowed, tuple(missing), tuple(problems), edgeone)


def adapter_minimum_problems(reqs: Requirements) -> list[Problem]:
    """EO-ADAPTER-MINIMUM: a user line for a package the build always adds (the adapter's own:
    werkzeug, flask, uvicorn) that allows versions below the adapter's minimum. The user's line wins
    over the build's, so the deploy may install a version the adapter does not run on."""
    problems = []
    for req in reqs.requirements:
        minimum = _ADAPTER_MINIMUM.get(req.package)
        if req.source != "user" or minimum is None or not _allows_below(req.line, minimum):
            continue
        problems.append(Problem(
            "warning", "EO-ADAPTER-MINIMUM",
            f"`{req.line}` replaces the build's own `{req.package}>={minimum}`: the user's line wins, so the "
            f"deploy may install a {req.package} older than the EdgeOne adapter needs",
            file=req.origin, hint=f"Require {req.package}>={minimum} (funcstudio deps --write rewrites the line).",
        ))
    return problems


_ADAPTER_MINIMUM = {package_name(line) or line: line.split(">=", 1)[1] for line in ALWAYS}


def _allows_below(line: str, minimum: str) -> bool:
    """True when the requirement admits some version below `minimum` (or pins one)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    match = re.match(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*([<>=!~][^;#]*)?", line)
    spec_text = ((match.group(1) if match else "") or "").replace(" ", "")
    if not spec_text:
        return False  # unversioned: pip picks the newest, above the minimum
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier:
        return False
    floor = Version(minimum)
    probes = [v for v in (re.findall(r"\d+(?:\.\d+)*", spec_text)) if Version(v) < floor]
    probes.append(str(Version(f"{floor.major}.{max(floor.minor - 1, 0)}")) if floor.minor else "0")
    return any(Version(v) in spec for v in probes if Version(v) < floor)


def render_requirements(reqs: Requirements, existing: str | None = None) -> str:
    """The text `deps --write` puts in `reqs.target`: the user's file kept verbatim, then the
    computed lines and the missing packages it does not list yet, under a marker comment."""
    existing = existing or ""
    existing = _raise_adapter_minimums(existing)
    listed = {package_name(line) for line in existing.splitlines() if line.strip() and not line.strip().startswith("#")}
    additions: list[str] = []
    for req in reqs.requirements:
        if req.source != "user" and req.package not in listed:
            additions.append(req.line)
            listed.add(req.package)
    for problem in reqs.missing:
        if problem.code != "EO-UNDECLARED-DEP":
            continue
        dist = _missing_distribution(problem)
        if dist and package_name(dist) not in listed:
            additions.append(dist)
            listed.add(package_name(dist))
    if not additions:
        return existing
    text = existing
    if text and not text.endswith("\n"):
        text += "\n"
    marker = "# Added by `funcstudio deps --write`: what the EdgeOne build installs plus undeclared imports."
    if marker not in text:
        text += ("\n" if text else "") + marker + "\n"
    return text + "\n".join(additions) + "\n"


def _raise_adapter_minimums(text: str) -> str:
    """A user line that would lower an adapter package below the build's minimum is replaced by the
    build's line; the old line stays as a comment, so nothing the user wrote is lost."""
    out = []
    for raw in text.splitlines(keepends=True):
        line = raw.strip()
        name = package_name(line) if line and not line.startswith("#") else None
        minimum = _ADAPTER_MINIMUM.get(name or "")
        if minimum is not None and _allows_below(line, minimum):
            ending = "\n" if raw.endswith("\n") else ""
            out.append(f"# {line}  (funcstudio deps --write: below the EdgeOne adapter's minimum)\n"
                       f"{name}>={minimum}{ending}")
        else:
            out.append(raw)
    return "".join(out)


def distribution_for(import_name: str) -> str:
    """Best guess of the PyPI distribution that provides `import_name`."""
    if import_name in _DISTRIBUTION_OF:
        return _DISTRIBUTION_OF[import_name]
    if _has_distribution(import_name):  # the common case, without scanning every installed dist
        return import_name.lower()
    found = _installed_distributions().get(import_name)
    return found[0].lower() if found else import_name.lower()


@functools.lru_cache(maxsize=512)
def _has_distribution(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(name)
    except (PackageNotFoundError, ValueError):
        return False
    except Exception:  # a broken environment must not break the scan
        return False
    return True


@functools.lru_cache(maxsize=1)
def _installed_distributions() -> dict[str, list[str]]:
    """Import name -> distributions in this environment (a hint only; read once, it scans every dist)."""
    try:
        from importlib.metadata import packages_distributions

        return dict(packages_distributions())
    except Exception:  # a broken environment must not break the scan
        return {}


# -- scanning ------------------------------------------------------------------------------------


def _scan_edgeone_imports(paths: list[Path], root: Path) -> list[tuple[str, str]]:
    """(first imported name, `file:line`) for each name of the build's table, by the build's regex,
    first occurrence per name (the scan order decides)."""
    found: dict[str, str] = {}
    for path in paths:
        for name, line in _regex_imports(path):
            if name in IMPORT_TABLE and name not in found:
                found[name] = f"{rel(path, root)}:{line}"
    return list(found.items())


_REGEX_CACHE: dict[str, tuple[int, int, tuple[tuple[str, int], ...]]] = {}


def _regex_imports(path: Path) -> tuple[tuple[str, int], ...]:
    source = files.read_source(path)
    key = str(path)
    cached = _REGEX_CACHE.get(key)
    if cached is not None and cached[0] == source.mtime_ns and cached[1] == source.size:
        return cached[2]
    text = source.text or ""
    found = []
    line, last = 1, 0
    for match in IMPORT_SCAN.finditer(text):
        line += text.count("\n", last, match.end())
        last = match.end()
        found.append((match.group(1) or match.group(2), line))
    result = tuple(found)
    _REGEX_CACHE[key] = (source.mtime_ns, source.size, result)
    return result


def _user_lines(path: Path, root: Path) -> list[Requirement]:
    text = files.read_source(path).text or ""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(Requirement(line, package_name(line) or line, "user", rel(path, root)))
    return lines


def _local_modules(tree: files.Tree) -> set[str]:
    """Names importable from the project itself: every `.py` stem and package folder under it."""
    names = {rel.rsplit("/", 1)[-1][:-3] for rel in tree.rel_files if rel.endswith(".py")}
    names.update(rel.rsplit("/", 1)[-1] for rel in tree.rel_dirs)
    return names


def _undeclared(paths: list[Path], root: Path, installed: set[str], local: set[str], code: str,
                req_file: str, entries: frozenset[Path] = frozenset()) -> list[Problem]:
    """One problem per third-party import nothing installs. In an entry file, an import at column 0
    runs on every load, so every request of that function fails in production: an error. Elsewhere
    (a helper module, inside a function or a branch) it fails only when reached: a warning."""
    problems = []
    for path in paths:
        lines = (files.read_source(path).text or "").splitlines() if path in entries else []
        for name, line in file_imports(path):
            if name in _STDLIB or name in local or name in PYTHON2_ONLY or name == "__future__":
                continue
            dist = distribution_for(name)
            covered = {package_name(dist), package_name(name)}
            if covered & installed:
                continue
            where = "the EdgeOne build" if code.startswith("EO") else "the SCF deploy"
            eager = 0 < line <= len(lines) and lines[line - 1][:1] in ("i", "f")
            problems.append(Problem(
                "error" if eager else "warning", code,
                f"`import {name}` is not installed by {where}: no requirement provides it"
                + (", so every request of this function fails with ModuleNotFoundError" if eager else ""),
                file=rel(path, root), line=line,
                hint=f"Add `{dist}` to {req_file} (funcstudio deps --write does it).",
            ))
    return problems


_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names) | STDLIB_310_EXTRA

# path -> (mtime_ns, size, imports): parsing is the expensive part of a scan, so unchanged files
# are parsed once.
_IMPORTS_CACHE: dict[str, tuple[int, int, tuple[tuple[str, int], ...]]] = {}
_PARSED = 0
"""Cache misses so far: the scan saves the cache only when it learned something."""


def file_imports(path: Path) -> tuple[tuple[str, int], ...]:
    """(top-level module, line) of each required absolute import in a file; () when it does not parse."""
    source = files.read_source(path)
    key = str(path)
    cached = _IMPORTS_CACHE.get(key)
    if cached is not None and cached[0] == source.mtime_ns and cached[1] == source.size:
        return cached[2]
    found: tuple[tuple[str, int], ...] = ()
    text = source.text
    # Parsing is what costs (a vendored SDK is thousands of files): a file whose import lines name
    # only the standard library or relative modules cannot yield a finding, so it is not parsed.
    global _PARSED
    _PARSED += 1
    if text and "import" in text and _may_import_third_party(text):
        try:
            found = tuple(_imports(ast.parse(text).body, optional=False))
        except (SyntaxError, ValueError, RecursionError):
            found = ()  # reported as a syntax error elsewhere
    _IMPORTS_CACHE[key] = (source.mtime_ns, source.size, found)
    return found


_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import\b|import[ \t]+([^\n#]+))", re.M)


_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.M)
_PLAIN_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]+)", re.M)


def reachable_files(entry: Path, code_root: Path, present: frozenset[str]) -> list[Path]:
    """The project files an entry can import, following its import lines (any indentation, so
    conditional imports count) through the code folder, which is what production puts on
    `sys.path`. `present` holds the code folder's files, relative POSIX paths. A superset of what
    runs, never less, except for imports built at run time (`importlib.import_module(name)`)."""
    try:
        start = entry.relative_to(code_root).as_posix()
    except ValueError:
        return [entry]
    seen: set[str] = set()
    queue = [start]
    while queue:
        current = queue.pop()
        if current in seen or current not in present:
            continue
        seen.add(current)
        text = files.read_source(code_root / current).text or ""
        if "import" not in text:
            continue
        package = current.rsplit("/", 1)[0] if "/" in current else ""
        for match in _PLAIN_IMPORT.finditer(text):
            for part in re.split(r"[,;]", match.group(1)):
                name = part.strip().split(" ")[0].strip("() \\")
                if name:
                    queue.extend(_module_files(name.replace(".", "/"), present))
        for match in _FROM_IMPORT.finditer(text):
            dots, module, names = match.group(1), match.group(2), match.group(3)
            if dots:
                base = package.split("/") if package else []
                base = base[: len(base) - (len(dots) - 1)] if len(dots) > 1 else base
                target = "/".join([*base, *(module.split(".") if module else [])])
            else:
                target = module.replace(".", "/")
            found = _module_files(target, present) if target else []
            queue.extend(found)
            for name in re.split(r"[,\s()\\]+", names):
                if name and name not in ("as", "*") and name.isidentifier():
                    queue.extend(_module_files(f"{target}/{name}" if target else name, present))
    return [code_root / path for path in sorted(seen)]


def _module_files(dotted_path: str, present: frozenset[str]) -> list[str]:
    """`a/b/c` -> the files importing `a.b.c` runs: each package's `__init__.py` and the module."""
    found = []
    parts = dotted_path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        stem = "/".join(parts[:depth])
        for candidate in (f"{stem}/__init__.py", f"{stem}.py"):
            if candidate in present:
                found.append(candidate)
    return found


def _may_import_third_party(text: str) -> bool:
    """True when some import line (at any indentation) names a module outside the standard library.
    A superset of what the AST finds: continuation lines and `;` are read generously."""
    for match in _IMPORT_LINE.finditer(text):
        if match.group(1) is not None:
            if match.group(1).startswith("."):
                continue
            names = [match.group(1)]
        else:
            names = [part.strip().split(" ")[0] for part in re.split(r"[,;]", match.group(2).strip("()\\ "))]
        for name in names:
            head = name.split(".")[0].strip("() \\")
            if head and head not in _STDLIB:
                return True
    return False


def _imports(body: list[ast.stmt], optional: bool) -> list[tuple[str, int]]:
    """Imports are statements, so only statement lists are walked (not every expression node).
    Imports under `try: ... except ImportError` are optional and skipped."""
    found: list[tuple[str, int]] = []
    for node in body:
        if isinstance(node, ast.Import):
            if not optional:
                found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if not optional and node.level == 0 and node.module:
                found.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            # `try: import x` / `except ImportError: import y`: both are fallbacks of each other.
            guarded = optional or any(_catches_import_error(h) for h in node.handlers)
            found.extend(_imports(node.body, guarded))
            for handler in node.handlers:
                found.extend(_imports(handler.body, optional or _catches_import_error(handler)))
            found.extend(_imports(node.orelse, optional))
            found.extend(_imports(node.finalbody, optional))
        elif isinstance(node, ast.If) and _is_version_guard(node.test):
            found.extend(_imports(node.body, True))
            found.extend(_imports(node.orelse, True))
        else:
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    found.extend(_imports(inner, optional))
            for case in getattr(node, "cases", ()) or ():  # match statements
                found.extend(_imports(case.body, optional))
    return found


def _is_version_guard(test: ast.expr) -> bool:
    """`if sys.version_info[0] == 2:`, `if six.PY2:`, `if not PY3:` and the like."""
    try:
        return bool(_VERSION_GUARD.search(ast.unparse(test)))
    except Exception:  # an expression unparse cannot render: not a guard we know
        return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError", "Exception")
               for n in names)


def _missing_distribution(problem: Problem) -> str | None:
    match = re.search(r"Add `([^`]+)`", problem.hint or "")
    return match.group(1) if match else None
