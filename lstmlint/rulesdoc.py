"""Every code's documentation in one shape, and the generated rules reference (docs/rules.md).

``python -m lstmlint.rulesdoc`` prints the reference; ``python -m lstmlint.rulesdoc --write``
rewrites ``docs/rules.md``; ``tests/test_formats.py`` fails when the file is out of date.
Each code has a stable anchor (``#lst101``) and a help URL built from ``DOCS_URL``; SARIF,
JSON and ``--explain`` use the same text.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from lstmlint.diagnostics import Severity
from lstmlint.registry import READ_ERROR, SYNTAX_ERROR, UNUSED_NOQA, all_rules

# The published rules reference (docs/rules.md rendered by the documentation site).
DOCS_URL = "https://lstmlint.readthedocs.io/en/latest/rules/"
CODE_SECTIONS = ("Example", "Fix")
PROVED = ("LST1", "LST2", "LST301", "LST302", "LST303")

_BUILTIN_DOCS = {
    SYNTAX_ERROR[0]: (
        Severity.ERROR,
        """
What it finds
    A file, or one code cell of a notebook, that Python cannot parse. The offending statement
    is blanked and the rest of the file (or notebook) is still analysed, so one unfinished
    exercise cell does not hide the findings in the others.

Why it matters
    Python refuses to run the file, and the statements lstmlint had to blank are not checked.

Example
    def lstm_step(x, h_prev, C_prev:
        z = np.vstack((h_prev, x))

Fix
    def lstm_step(x, h_prev, C_prev):
        z = np.vstack((h_prev, x))
""",
    ),
    READ_ERROR[0]: (
        Severity.ERROR,
        """
What it finds
    A file that cannot be turned into Python text: a binary file with a .py name, source that
    is not UTF-8 and has no coding declaration, a notebook that is not valid JSON or has no
    cells, or a file larger than the size limit. The run exits with status 2.

Why it matters
    Nothing in the file was checked.

Example
    x = 'café'          # saved as latin-1, without a coding declaration

Fix
    # -*- coding: latin-1 -*-
    x = 'café'
""",
    ),
    UNUSED_NOQA[0]: (
        Severity.WARNING,
        """
What it finds
    A ``# noqa: LST...`` comment that names a code which suppresses nothing on that line
    (unused), a code lstmlint does not have (unknown), or a rule that is not enabled in this
    run (non-enabled). Codes of other linters (``E501``, ``F401``) and a bare ``# noqa`` are
    left alone. Off by default: turn it on with ``--warn-unused-noqa`` or by selecting
    LST002.

Why it matters
    A stale suppression hides the next real finding on that line: once the bug it was written
    for is fixed, a new bug of the same kind there goes unreported.

Example
    C_prev = C[t]  # noqa: LST101

Fix
    C_prev = C[t]
""",
    ),
}


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    summary: str
    severity: Severity
    doc: str

    @property
    def url(self) -> str:
        return help_url(self.code)

    @property
    def sections(self) -> list[tuple[str, str]]:
        return doc_sections(self.doc)

    @property
    def proved(self) -> bool:
        return self.code.startswith(PROVED)


def help_url(code: str) -> str:
    return f"{DOCS_URL}#{code.lower()}"


def all_infos() -> list[RuleInfo]:
    infos = [
        RuleInfo(code, name, summary, *_BUILTIN_DOCS[code])
        for code, name, summary in (SYNTAX_ERROR, READ_ERROR, UNUSED_NOQA)
    ]
    infos.extend(
        RuleInfo(rule.code, rule.name, rule.summary, rule.severity, rule.doc)
        for rule in all_rules()
    )
    return sorted(infos, key=lambda info: info.code)


def info_by_code(code: str) -> RuleInfo | None:
    wanted = code.strip()
    for info in all_infos():
        if info.code == wanted.upper() or info.name == wanted.lower():
            return info
    return None


def doc_sections(doc: str) -> list[tuple[str, str]]:
    """(title, dedented body) of a rule doc: unindented lines are titles, indented lines body."""
    sections: list[tuple[str, list[str]]] = []
    for line in doc.strip("\n").splitlines():
        if line.strip() and not line[0].isspace():
            sections.append((line.strip(), []))
        elif sections:
            sections[-1][1].append(line)
    return [(title, textwrap.dedent("\n".join(body)).strip("\n")) for title, body in sections]


def _inline(text: str) -> str:
    return " ".join(text.split())


def markdown_body(info: RuleInfo, heading: str = "###") -> str:
    """A rule's documentation as markdown (sections, with the code sections fenced)."""
    parts = []
    for title, body in info.sections:
        parts.append(f"{heading} {title}\n")
        if title in CODE_SECTIONS:
            parts.append(f"```\n{body}\n```\n")  # no language: ruff would reformat the examples
        else:
            parts.append(_paragraphs(body) + "\n")
    return "\n".join(parts)


def _paragraphs(body: str) -> str:
    """Join wrapped lines into paragraphs; keep ``- `` list items as items."""
    out: list[str] = []
    current: list[str] = []
    for line in [*body.splitlines(), ""]:
        stripped = line.strip()
        starts_item = stripped.startswith("- ")
        if not stripped or starts_item:
            if current:
                out.append(_inline(" ".join(current)))
                current = []
            if not stripped:
                if out and out[-1] != "":
                    out.append("")
                continue
        if starts_item:
            current = ["-", stripped[2:]]
            continue
        current.append(stripped)
    while out and out[-1] == "":
        out.pop()
    # list items follow each other without blank lines; a paragraph before a list needs one
    text: list[str] = []
    for item in out:
        if item.startswith("- ") and text and text[-1] and not text[-1].startswith("- "):
            text.append("")
        text.append(item)
    return "\n".join(text)


def render() -> str:
    """The whole of docs/rules.md."""
    infos = all_infos()
    lines = [
        "# lstmlint rules",
        "",
        "<!-- Generated by `python -m lstmlint.rulesdoc --write` from the rule modules; do not edit. -->",
        "",
        "`lstmlint --explain CODE` prints the same text. Every finding links to its section here",
        f"(`{DOCS_URL}#lst101` and so on).",
        "",
        "| Code | Name | Severity | Finds |",
        "|---|---|---|---|",
    ]
    for info in infos:
        summary = info.summary.replace("|", "\\|")
        lines.append(
            f"| [{info.code}](#{info.code.lower()}) | {info.name} | {info.severity.value} | "
            f"{summary} |"
        )
    lines.append("")
    for info in infos:
        confirmation = (
            "proved or refuted by the reference gradient check"
            if info.proved
            else "advice, not a gradient error"
            if info.code.startswith("LST4")
            else "not a gradient finding"
        )
        lines += [
            f'<a id="{info.code.lower()}"></a>',
            "",
            f"## {info.code} {info.name}",
            "",
            f"Severity: {info.severity.value}. Confirmation: {confirmation}.",
            "",
            info.summary,
            "",
            markdown_body(info).rstrip("\n"),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def default_path() -> Path:
    """docs/rules.md of the checkout the command runs in (the package may be installed elsewhere)."""
    return Path.cwd() / "docs" / "rules.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--write" in argv:
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        sys.stdout.write(f"wrote {path}\n")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
