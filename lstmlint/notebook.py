"""Jupyter notebooks: code cells joined into one program, IPython syntax masked line by line."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lstmlint.sources import SourceDocument

# Cell magics whose body is still Python; any other cell magic hides the whole cell.
PYTHON_BODY_MAGICS = {"time", "timeit", "capture", "prun", "debug", "memit", "px", "autoreload"}

_LINE_MAGIC = re.compile(r"^\s*(%|!)")
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()]+=\s*(%|!)")
_HELP = re.compile(r"^\s*(\?\??[\w.]*|[\w.\[\]]+\?\??)\s*$")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _source_text(source: object) -> str:
    """A cell's source: a string, or a list of strings (anything else in it is ignored)."""
    if isinstance(source, list):
        text = "".join(part for part in source if isinstance(part, str))
    elif isinstance(source, str):
        text = source
    else:
        return ""
    # JSON can spell unpaired surrogates (\ud800), which no encoder accepts: show them as U+FFFD
    return _SURROGATE.sub("\ufffd", text)


def _mask_line(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}pass"


def mask_cell(text: str) -> list[str]:
    """Lines of a cell with IPython-only syntax replaced by ``pass`` (line count unchanged)."""
    lines = text.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        name = magic[0] if magic else ""
        if name not in PYTHON_BODY_MAGICS:
            return [""] * len(lines)
        lines[0] = ""
    masked = []
    for line in lines:
        if _LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(line):
            masked.append(_mask_line(line))
        else:
            masked.append(line)
    return masked


def _code_cells(nb: dict) -> tuple[list[tuple[int, str]], bool]:
    """(index, source) of each code cell, and whether the notebook has a cells list at all."""
    if isinstance(nb.get("cells"), list):
        cells = nb["cells"]
        source_key = "source"
    elif isinstance(nb.get("worksheets"), list):  # nbformat 3
        sheets = [w for w in nb["worksheets"] if isinstance(w, dict)]
        cells = [c for w in sheets if isinstance(w.get("cells"), list) for c in w["cells"]]
        source_key = "input"
    else:
        return [], False
    found = []
    for index, cell in enumerate(cells):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            found.append((index, _source_text(cell.get(source_key, cell.get("source", "")))))
    return found, True


def _language(nb: dict) -> str:
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    for key in ("language_info", "kernelspec"):
        info = meta.get(key)
        if isinstance(info, dict):
            lang = info.get("name") if key == "language_info" else info.get("language")
            if isinstance(lang, str) and lang.strip():
                lang = lang.strip().lower()
                return "python" if lang.startswith(("python", "ipython")) else lang
    return "python"


def read_notebook(data: bytes, display: str) -> SourceDocument:
    from lstmlint.sources import CellSpan, SourceDocument, UnreadableFile, normalise_newlines

    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UnreadableFile("is not a notebook: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"is not a valid notebook: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise UnreadableFile(f"is not a valid notebook: {exc}") from None
    except RecursionError:
        raise UnreadableFile("is not a valid notebook: its JSON is nested too deeply") from None
    if not isinstance(nb, dict):
        raise UnreadableFile("is not a valid notebook: the top level is not a JSON object")
    cells, has_cells = _code_cells(nb)
    if not has_cells:
        raise UnreadableFile("is not a valid notebook: it has no 'cells' list")
    doc = SourceDocument(path=display, text="", display_lines=[], cells=[])
    language = _language(nb)
    if language != "python":
        doc.notes.append(f"notebook language is {language!r}, not Python; nothing to check")
        return doc
    if not cells:
        doc.notes.append("notebook has no code cells; nothing to check")
        return doc
    analysed: list[str] = []
    for index, source in cells:
        original = normalise_newlines(source).rstrip("\n").split("\n")
        masked = mask_cell("\n".join(original))
        doc.cells.append(
            CellSpan(index=index, first_line=len(analysed) + 1, line_count=len(original))
        )
        analysed.extend(masked)
        doc.display_lines.extend(original)
    doc.text = "\n".join(analysed) + "\n"
    return doc
