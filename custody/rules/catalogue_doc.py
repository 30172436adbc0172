"""The shipped catalogue as a Markdown page (``docs/catalogue.md``), generated from the TOML
so the page lists exactly what ships (a test checks the page is up to date)::

    python -m custody.rules.catalogue_doc > docs/catalogue.md"""

from __future__ import annotations

from custody.rules.case_points import Span
from custody.rules.catalogue import Catalogue, LadderStep, load_catalogue

HEADER = """# The shipped risk-point catalogue

**A draft for the station's legal section to confirm.** Drafted from the published
procedural rules: the Criminal Procedure Law (中华人民共和国刑事诉讼法, as amended 2018),
公安机关办理刑事案件程序规定, 公安机关办理行政案件程序规定, the Public Security
Administration Punishments Law (治安管理处罚法), the Administrative Coercion Law
(行政强制法), the Administrative Penalty Law (行政处罚法) and 公安机关涉案财物管理若干规定.
"条款待确认" (article to confirm) marks a source whose exact article was not confirmed when
this was drafted; "本站督办时限" marks a limit the law states as "immediately" (立即), for
which this draft sets 24 hours for the station to watch. The rules change and
stations add their own: copy `custody/catalogue/starter.toml` and `stages.toml`, edit them,
and point `[rules] catalogue` at your copy ([custody](custody.md), "Case stages and
statutory deadlines").

This page is generated: `python -m custody.rules.catalogue_doc > docs/catalogue.md`.
"""


def _span(span: Span) -> str:
    if span.months:
        return f"{span.months} month(s)"
    hours = span.ms // 3_600_000
    return f"{hours // 24} d" if hours % 24 == 0 else f"{hours} h"


def _ladder(steps: tuple[LadderStep, ...]) -> str:
    out = []
    for step in steps:
        role, at_ms = step.role, step.at_ms
        hours = at_ms / 3_600_000
        when = "at the deadline" if at_ms == 0 else (
            f"{abs(hours):g} h {'before' if at_ms < 0 else 'after'}")
        out.append(f"{role} {when}")
    return ", ".join(out)


def render_markdown(catalogue: Catalogue) -> str:
    """The page for ``catalogue``."""
    lines = [HEADER]
    names = {s.id: s.name for s in catalogue.stages.stages.values()}
    lines.append("## Case points\n")
    lines.append(f"{len({p.category for p in catalogue.case_points})} categories, "
                 f"{len(catalogue.case_points)} points.\n")
    for category in catalogue.categories:
        if not category.case_points:
            continue
        lines.append(f"### {category.name} (`{category.id}`)\n")
        lines.append("| point | starts at | deadline | extensions (approval) | resolved by |"
                     " next step | source | ladder |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for p in category.case_points:
            ext = "; ".join(f"{names[e.stage]} → {_span(e.span)} ({e.approval})"
                            for e in p.extensions) or "—"
            resolved = ", ".join(names[s] for s in p.resolved_by)
            lines.append(f"| {p.name} (`{p.id}`) | {names[p.stage]} | {_span(p.span)} | {ext} "
                         f"| {resolved} | {p.next_step} | {p.article} | {_ladder(p.ladder)} |")
        lines.append("")
    lines.append("## Item points (custody states)\n")
    lines.append("| point | state | deadline | ladder |")
    lines.append("| --- | --- | --- | --- |")
    for point in catalogue.points:
        lines.append(f"| {point.name} (`{point.id}`) | {point.state.value} | "
                     f"{_span(Span(ms=point.deadline_ms))} | {_ladder(point.ladder)} |")
    lines.append("")
    lines.append("## Stages\n")
    lines.append("| stage | name | English | may follow it | complainant told |")
    lines.append("| --- | --- | --- | --- | --- |")
    for s in catalogue.stages.stages.values():
        first = " (first)" if s.first else ""
        lines.append(f"| `{s.id}`{first} | {s.name} | {s.name_en} | "
                     f"{', '.join(f'`{n}`' for n in s.next) or '—'} | {s.complainant or '—'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(load_catalogue()), end="")
