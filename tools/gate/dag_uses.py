"""What a DAG's templates read: the Airflow Variables and the template files (SQL), for the inventory."""

from __future__ import annotations

import re
from pathlib import Path

# Variables a template reads: {{ var.value.NAME }}, {{ var.json.NAME }}, var.value.get('NAME').
VARIABLE = re.compile(r"\bvar\.(?:value|json)\.(?:get\(\s*['\"](\w+)|(?!get\b)(\w+))")
INCLUDE = re.compile(r"{%-?\s*include\s+['\"]([^'\"]+)['\"]")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _strings(item)


class TemplateFiles:
    """The template files (SQL) under each search path, by content: Airflow reads a templated field that
    names a file (`sql="redshift/x.sql"`) into the field when it parses the DAG, so the text tells the file.
    """

    def __init__(self):
        # Per search path and kind of template (an operator's template_ext): {file text: name}.
        self._by_text: dict[tuple[Path, tuple[str, ...]], dict[str, str]] = {}
        self._texts: dict[Path, str] = {}

    def name_of(self, text: str, roots: list[Path], extensions: tuple[str, ...]) -> str | None:
        for root in roots:
            if (root, extensions) not in self._by_text:
                files = [p for p in root.rglob("*") if p.suffix in extensions and p.is_file()]
                texts = ((_text(p), str(p.relative_to(root))) for p in files)
                self._by_text[root, extensions] = {text: name for text, name in texts if text is not None}
            if text in self._by_text[root, extensions]:
                return self._by_text[root, extensions][text]
        return None

    def text(self, roots: list[Path], name: str) -> str:
        path = next((root / name for root in roots if (root / name).is_file()), None)
        if path is not None and path not in self._texts:
            self._texts[path] = _text(path) or ""
        return self._texts.get(path, "")


def _text(path: Path) -> str | None:
    """A template file's text as Airflow reads it (UTF-8); None when it is not (the render rule says so)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _templated(dag):
    """(object, its templated values) for every task and failure callback of `dag`."""
    callbacks = dag.on_failure_callback or []
    callbacks = callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]
    for obj in [*dag.tasks, *callbacks]:
        yield obj, [getattr(obj, field, None) for field in getattr(obj, "template_fields", ())]


def uses(dag, files: TemplateFiles) -> tuple[list[str], list[str]]:
    """(Variables, template files) the DAG's templates read, the files' own templates and includes too."""
    paths = dag.template_searchpath or []
    roots = [Path(p) for p in ([paths] if isinstance(paths, str) else paths)] + [Path(dag.fileloc).parent]
    variables, templates = set(), set()
    for obj, values in _templated(dag):
        extensions = tuple(getattr(obj, "template_ext", ()) or ())
        pending = [s for value in values for s in _strings(value)]
        while pending:
            text = pending.pop()
            name = text if extensions and text.endswith(extensions) and "\n" not in text else None
            if name is None and extensions:  # a file's text (a one-line file may end without a newline)
                name = files.name_of(text, roots, extensions)
            if name is not None and name not in templates:
                templates.add(name)
                text = text if "\n" in text else files.text(roots, name)
                pending += INCLUDE.findall(text)
            variables.update(a or b for a, b in VARIABLE.findall(text))
    return sorted(variables), sorted(templates)
