"""Report content as blocks (heading, paragraph, list, table, figure, banner, toc) and their HTML.

The report document records blocks; the notebook shows their HTML and the Word writer
(:mod:`evalkit.reporting.docx_writer`) builds the same blocks with python-docx, so both
formats carry the same words and cells. Markdown (generated narrative or a study's own
``narrative/<key>.md``) is parsed with mistune (already installed with nbconvert) into
paragraph, list and heading blocks whose text is a list of runs ``{"text", "bold", "italic"}``.
"""

from __future__ import annotations

import html
import re
from typing import Any

_NUMERIC = re.compile(r"^[<>]?[−\-]?[\d,.]+%?( \[[−\-\d.]+, [−\-\d.]+\])?( ?[*†‡]+)*$|^—$")

__all__ = ["markdown_blocks", "block_html", "runs_text"]

Run = dict[str, Any]


def _runs(children: list[dict[str, Any]], *, bold: bool = False, italic: bool = False) -> list[Run]:
    out: list[Run] = []
    for node in children:
        kind = node.get("type")
        if kind in {"text", "codespan"}:
            out.append({"text": node.get("raw", ""), "bold": bold, "italic": italic})
        elif kind == "strong":
            out += _runs(node["children"], bold=True, italic=italic)
        elif kind == "emphasis":
            out += _runs(node["children"], bold=bold, italic=True)
        elif kind in {"softbreak", "linebreak"}:
            out.append({"text": " " if kind == "softbreak" else "\n", "bold": bold, "italic": italic})
        elif "children" in node:
            out += _runs(node["children"], bold=bold, italic=italic)
        elif "raw" in node:
            out.append({"text": node["raw"], "bold": bold, "italic": italic})
    return out


def markdown_blocks(text: str) -> list[dict[str, Any]]:
    """Parse Markdown into heading / paragraph / list / table blocks (other syntax becomes plain text).

    A Markdown table becomes an ``md_table`` block; the report document numbers and captions it.
    """
    import mistune

    tokens = mistune.create_markdown(renderer=None, plugins=["table"])(text)
    blocks: list[dict[str, Any]] = []
    for tok in tokens:
        kind = tok.get("type")
        if kind == "heading":
            blocks.append({"kind": "heading", "level": int(tok["attrs"]["level"]),
                           "text": runs_text(_runs(tok["children"]))})
        elif kind == "paragraph":
            blocks.append({"kind": "paragraph", "runs": _runs(tok["children"])})
        elif kind == "list":
            items = [_runs(item.get("children", [])) for item in tok["children"]]
            blocks.append({"kind": "list", "ordered": bool(tok["attrs"].get("ordered")), "items": items})
        elif kind == "table":
            head = next((c for c in tok["children"] if c["type"] == "table_head"), {"children": []})
            body = next((c for c in tok["children"] if c["type"] == "table_body"), {"children": []})
            blocks.append({"kind": "md_table", "columns": [runs_text(_runs(c["children"])) for c in head["children"]],
                           "rows": [[runs_text(_runs(c["children"])) for c in row["children"]]
                                    for row in body["children"]]})
        elif kind == "block_quote":
            for child in markdown_blocks_from_tokens(tok["children"]):
                blocks.append(child)
        elif kind not in {"blank_line", "thematic_break"} and tok.get("children"):
            blocks.append({"kind": "paragraph", "runs": _runs(tok["children"])})
    return blocks


def markdown_blocks_from_tokens(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"kind": "paragraph", "runs": _runs(t["children"])} for t in tokens if t.get("children")]


def runs_text(runs: list[Run]) -> str:
    return "".join(r["text"] for r in runs)


def _runs_html(runs: list[Run]) -> str:
    parts = []
    for r in runs:
        t = html.escape(r["text"]).replace("\n", "<br>")
        if r.get("italic"):
            t = f"<em>{t}</em>"
        if r.get("bold"):
            t = f"<strong>{t}</strong>"
        parts.append(t)
    return "".join(parts)


def _caption_html(block: dict[str, Any], tag: str) -> str:
    return (f"<{tag} class='evalkit-caption'><span class='evalkit-label'>{html.escape(block['label'])}</span>"
            f"{html.escape(block['sep'])}{html.escape(block['title'])}</{tag}>")


def _notes_html(notes: list[str]) -> str:
    if not notes:
        return ""
    return "<div class='evalkit-notes'>" + "".join(f"<p>{html.escape(n)}</p>" for n in notes) + "</div>"


def _num_class(value: str) -> str:
    return " class='num'" if _NUMERIC.match(value) else ""


def block_html(block: dict[str, Any]) -> str:
    """The HTML the notebook shows for one block (class names styled by :mod:`html_offline`)."""
    kind = block["kind"]
    if kind == "heading":
        level = min(max(int(block["level"]), 1), 6)
        anchor = f" id='{block['anchor']}'" if block.get("anchor") else ""
        return f"<h{level}{anchor} class='evalkit-h'>{html.escape(block['text'])}</h{level}>"
    if kind == "paragraph":
        cls = f" class='{block['style']}'" if block.get("style") else ""
        return f"<p{cls}>{_runs_html(block['runs'])}</p>"
    if kind == "list":
        tag = "ol" if block.get("ordered") else "ul"
        return f"<{tag}>" + "".join(f"<li>{_runs_html(i)}</li>" for i in block["items"]) + f"</{tag}>"
    if kind == "banner":
        return f"<div class='evalkit-synthetic'>{html.escape(block['text'])}</div>"
    if kind == "table":
        head = "".join(f"<th>{html.escape(c)}</th>" for c in block["columns"])
        body = "".join("<tr>" + "".join(f"<td{_num_class(v)}>{html.escape(v)}</td>" for v in row) + "</tr>"
                       for row in block["rows"])
        return (f"<figure class='evalkit-table-block' id='{block['anchor']}'>" + _caption_html(block, "figcaption")
                + f"<table class='evalkit-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                + _notes_html(block.get("notes", [])) + "</figure>")
    if kind == "figure":
        return (f"<figure class='evalkit-figure-block' id='{block['anchor']}'>" + _caption_html(block, "figcaption")
                + (f"<img alt='{html.escape(block['title'])}' style='width:{96 * float(block.get('width_in') or 6):.0f}px' "
                   f"src='data:image/png;base64,{block['png_base64']}'>"
                   if block.get("png_base64") else "")
                + _notes_html(block.get("notes", [])) + "</figure>")
    if kind == "toc":
        items = "".join(
            f"<li class='toc-l{e['level']}'><a href='#{e['anchor']}'>{html.escape(e['text'])}</a></li>"
            for e in block["entries"])
        return (f"<nav class='evalkit-toc'><p class='evalkit-toc-title'>{html.escape(block['title'])}</p>"
                f"<ul>{items}</ul></nav>")
    msg = f"unknown report block kind {kind!r}"
    raise ValueError(msg)
