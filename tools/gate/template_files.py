"""Template errors that name their file: a Jinja typo, a misspelt .sql path, a SQL syntax error.

Airflow reads a task's `.sql` files when the DAG loads and keeps their text in the field, so an error raised
while rendering or parsing it knows neither the file nor the line (`<unknown>`, "Line 6, Col 15"). The file
is found again by its text among the templates of the DAG's own search path (template_searchpath: dags/
and sql/), and its path is shown relative to the repository.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from gate.rules import shown_path
from gate.suggest import did_you_mean


class TemplateFileError(Exception):
    """A template that cannot render, in one line: file, line, what is wrong and the fix."""


def _templates(jinja_env, suffix: str | None = None) -> dict[str, Path]:
    """{name as a task gives it: path} of the templates the environment's file loader finds."""
    loader = jinja_env.loader
    if not isinstance(loader, jinja2.FileSystemLoader):
        return {}
    found: dict[str, Path] = {}
    for folder in map(Path, loader.searchpath):
        for path in sorted(folder.rglob(f"*{suffix or ''}")):
            if path.is_file() and "__pycache__" not in path.parts:
                found.setdefault(path.relative_to(folder).as_posix(), path)
    return found


def file_of(jinja_env, text: str) -> Path | None:
    """The template file under the environment's search path whose text is `text`, if one is."""
    if not isinstance(text, str) or not text:
        return None
    for path in _templates(jinja_env, ".sql").values():
        try:
            if path.read_text() == text:
                return path
        except (OSError, UnicodeDecodeError):
            continue
    return None


def _file_of_bytes(jinja_env, content: bytes) -> Path | None:
    """The template file whose bytes are `content` (what a failed decoding of it holds)."""
    for path in _templates(jinja_env).values():
        try:
            if path.read_bytes() == content:
                return path
        except OSError:
            continue
    return None


def explain(error: Exception, jinja_env, where: str) -> str | None:
    """One line for a template error that is the template's own (not the run's), else None.

    `where` names the task and field, e.g. "task 'load', field 'sql'".
    """
    if isinstance(error, jinja2.TemplateNotFound):
        name = error.name
        suffix = Path(name).suffix
        hint = did_you_mean(name, [n for n in _templates(jinja_env, suffix or None) if n.endswith(suffix)])
        folders = ", ".join(shown_path(p) for p in getattr(jinja_env.loader, "searchpath", []))
        return (
            f"{where}: template file '{name}' does not exist under {folders}; {hint}"
            f"Fix: correct the path in the DAG file (relative to sql/)"
        )
    if isinstance(error, UnicodeDecodeError):
        path = _file_of_bytes(jinja_env, error.object)
        if path is None:
            return None
        line, byte = error.object[: error.start].count(b"\n") + 1, error.object[error.start]
        return (
            f"{shown_path(path)}:{line}: {where}: not UTF-8 text (byte 0x{byte:02x}), and Airflow reads "
            "templates as UTF-8. Fix: save the file as UTF-8"
        )
    if isinstance(error, jinja2.TemplateSyntaxError):
        path = file_of(jinja_env, error.source) if error.source else None
        location = f"{shown_path(path)}:{error.lineno}" if path else f"inline template, line {error.lineno}"
        return (
            f"{location}: {where}: Jinja syntax error: {error.message}. Fix: correct the Jinja at that line"
        )
    return None


def source_line(raw: str, rendered: str, line: int) -> int | None:
    """The line of the template file `raw` that line `line` of its rendering `rendered` comes from: the
    same number when rendering kept the line count, else the one file line equal to the rendered line."""
    raw_lines, rendered_lines = raw.splitlines(), rendered.splitlines()
    if len(raw_lines) == len(rendered_lines):
        return line
    if 0 < line <= len(rendered_lines):
        matches = [
            n for n, text in enumerate(raw_lines, 1) if text.strip() == rendered_lines[line - 1].strip()
        ]
        if len(matches) == 1:
            return matches[0]
    return None


def sql_location(jinja_env, raw: str, rendered: str, line: int, column: int) -> str:
    """`sql/x.sql:LINE:COL` for a position in the rendering of a task's SQL, as near as the file allows."""
    path = file_of(jinja_env, raw)
    if path is None:
        return f"inline SQL, rendered line {line}, column {column}"
    in_file = source_line(raw, rendered, line)
    if in_file is None:
        return f"{shown_path(path)} (rendered line {line}, column {column})"
    return f"{shown_path(path)}:{in_file}:{column}"
