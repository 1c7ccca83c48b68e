"""How `sitegen check` shows its findings: for people, for CI tools, for GitHub Actions."""

from __future__ import annotations

import json

from sitegen.commands.check import ERROR, CheckReport


def format_check(report: CheckReport, style: str, strict: bool = False) -> str:
    """The whole report as text ending in a newline; `style` is text, json or github."""
    if style == "json":
        return json.dumps({
            "ok": not report.failed(strict), "strict": strict, "articles": report.articles,
            "errors": report.errors, "warnings": report.warnings,
            "problems": [{"file": f.problem.file, "line": f.problem.line, "severity": f.severity,
                          "kind": f.kind, "message": f.problem.message}
                         for f in report.findings],
        }, indent=2, ensure_ascii=False) + "\n"
    lines = []
    for finding in report.findings:
        p = finding.problem
        if style == "github":
            where = f"file={_gh(p.file, True)}" + (f",line={p.line}" if p.line else "")
            level = "error" if finding.severity == ERROR or strict else "warning"
            lines.append(f"::{level} {where},title=sitegen check ({finding.kind})::{_gh(p.message)}")
        elif finding.severity == ERROR:
            lines.append(str(p))
        else:
            where = f"{p.file}:{p.line}" if p.line else p.file
            lines.append(f"{where}: warning: {p.message}")
    lines.append(_summary(report, strict))
    return "\n".join(lines) + "\n"


def _summary(report: CheckReport, strict: bool) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    checked = f"{n(report.articles, 'article')} checked"
    if not report.findings:
        return f"No problems found ({checked})."
    text = f"{n(report.errors, 'error')}, {n(report.warnings, 'warning')} ({checked})."
    if report.warnings and not strict and not report.errors:
        text += " Warnings do not fail the check; --strict makes them."
    return text


def _gh(text: str, property_value: bool = False) -> str:
    """Escape a message (or, stricter, a property value) for a GitHub Actions command."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text
