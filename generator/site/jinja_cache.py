"""Compiled Jinja templates, kept in memory and between runs on disk, for evidoc's site templates
and for the theme's templates in the MkDocs child of `evidoc build` (generator/site/warm.py).

Compiling Material's templates takes a fifth of a second of every MkDocs build, and evidoc's own
a tenth; loading them compiled takes milliseconds. The code Jinja compiles a template to depends
on the template's source and on the environment it is compiled in (its syntax, extensions,
filters and tests, and Jinja and Python themselves), so a compiled template is used only when
both are the same:

- the file name holds the template's name and file and a digest of the environment (`signature`);
- in the file, Jinja keeps a digest of the source and its own and Python's versions, and
  recompiles on any difference.

The cache lives in $XDG_CACHE_HOME/evidoc/jinja (default ~/.cache/evidoc/jinja), a directory
private to the user; files are replaced atomically. When it cannot be made, templates are
compiled as before. `EVIDOC_JINJA_CACHE=off` switches it off.

This module imports nothing of evidoc: the MkDocs child loads it by its path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

SWITCH = "EVIDOC_JINJA_CACHE"

# `{% include "x" %}`, `{% extends 'x' %}`, `{% import "x" as y %}`, `{% from "x" import y %}`
_REFERENCE = re.compile(r"""\{%-?\s*(?:include|extends|import|from)\s+["']([^"'\s]+)["']""")


def cache_dir() -> Path | None:
    """The directory for compiled templates, made if needed; None when there is none to use."""
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "no", "false"}:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    path = Path(base) / "evidoc" / "jinja"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None  # someone else could put code there
        if not _safe_parents(path):
            return None
    except (OSError, AttributeError):
        return None
    return path


def _safe_parents(path: Path) -> bool:
    """No one but the user (or root) can replace a folder on the way to PATH: each parent is
    owned by the user or root, and writable by others only with the sticky bit (as /tmp is)."""
    for parent in path.resolve().parents:
        st = parent.stat()
        if st.st_uid not in (0, os.getuid()):
            return False
        if st.st_mode & 0o022 and not st.st_mode & 0o1000:
            return False
    return True


def _name(obj: Any) -> str:
    if obj is None:
        return "-"
    kind = obj if isinstance(obj, type) else type(obj)
    module = getattr(obj, "__module__", None) or kind.__module__
    qualname = getattr(obj, "__qualname__", None) or kind.__qualname__
    return f"{module}.{qualname}"


def _passing(functions: dict[str, Any]) -> list[tuple[str, str]]:
    # Whether a filter or test is passed the context, eval context or environment is decided
    # when a template is compiled (jinja2.compiler); what the function does is not.
    return sorted(
        (n, getattr(getattr(f, "jinja_pass_arg", None), "name", "-")) for n, f in functions.items()
    )


def _extension(name: str, ext: Any) -> tuple[str, str, int, int]:
    # An extension's parser and preprocessing are part of the compiled code: its module file
    # is part of the signature, by modification time and size.
    try:
        module = sys.modules[type(ext).__module__]
        st = os.stat(module.__file__ or "")
        return (name, module.__file__ or "", st.st_mtime_ns, st.st_size)
    except (KeyError, OSError, TypeError):
        return (name, "", 0, 0)


def signature(env: jinja2.Environment) -> str:
    """A digest of everything in `env` that the code compiled from a template depends on (see
    jinja2.lexer.get_lexer and jinja2.compiler), stable from one process to the next."""
    parts = [
        jinja2.__version__,
        sys.version,
        _name(type(env)),
        _name(env.code_generator_class),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        env.autoescape if isinstance(env.autoescape, bool) else _name(env.autoescape),
        _name(env.finalize),
        _name(env.undefined),
        sorted(_extension(n, e) for n, e in env.extensions.items()),
        _passing(env.filters),
        _passing(env.tests),
    ]
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:24]


class TemplateCache(BytecodeCache):
    """Jinja's bytecode cache, in memory and (when `directory` is given) on disk."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.memory: dict[str, tuple[str, Any]] = {}  # file name -> (source digest, code)

    def _file(self, bucket: Bucket) -> str:
        return f"{bucket.key}-{signature(bucket.environment)}.cache"

    def load_bytecode(self, bucket: Bucket) -> None:
        name = self._file(bucket)
        hit = self.memory.get(name)
        if hit is not None and hit[0] == bucket.checksum:
            bucket.code = hit[1]
            return
        if self.directory is None:
            return
        try:
            with open(self.directory / name, "rb") as f:
                bucket.load_bytecode(f)  # checks Jinja's and Python's versions and the source
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()
        if bucket.code is not None:
            self.memory[name] = (bucket.checksum, bucket.code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        name = self._file(bucket)
        self.memory[name] = (bucket.checksum, bucket.code)
        if self.directory is None:
            return
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "wb") as f:
                bucket.write_bytecode(f)
            os.replace(tmp, self.directory / name)
            tmp = None
        except OSError:
            pass  # a cache that cannot be written is only slower
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def compile_ahead(self, env: jinja2.Environment, name: str) -> list[str]:
        """Have template `name` compiled (or loaded) for `env`, ahead of its use; returns the
        templates it names by a constant string (to be made ready next)."""
        assert env.loader is not None
        source, filename, _ = env.loader.get_source(env, name)
        bucket = self.get_bucket(env, name, filename, source)
        if bucket.code is None:
            bucket.code = env.compile(source, name, filename)
            self.set_bucket(bucket)
        return list(dict.fromkeys(_REFERENCE.findall(source)))
