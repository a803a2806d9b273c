"""Write the dashboard: a folder of static files that opens from disk (``index.html``,
``app.js``, ``app.css``, ``data.js`` and one page per rule under ``rules/``), or one
self-contained HTML page with everything inlined (``--format html``). Nothing is fetched from
the network: the pages forbid it in their Content-Security-Policy."""
from __future__ import annotations

import html
import shutil
import json
import os
from importlib import resources
from pathlib import Path

from . import markdown

# Scripts and styles come from the page itself or its folder; nothing else is loaded.
_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline' file:; style-src 'self' 'unsafe-inline' file:; "
        "img-src data: 'self' file:; connect-src 'none'")


def static_text(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def script_json(data) -> str:
    """JSON that is safe inside a <script> element and a .js file: no '</script>', no line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def script_data(data) -> str:
    """The data as a JS expression: a JSON text that JSON.parse reads, which browsers parse much faster
    than the same object written as a literal."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return f"JSON.parse({script_json(text)})"


def _page(title: str, head: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>{head}</head>\n<body>{body}</body></html>\n")


def single_page(data: dict) -> str:
    """Everything in one file: styles, data and script inlined."""
    data = dict(data, rule_pages=None)
    head = f"<style>{static_text('app.css')}</style>"
    body = (f'<div id="app"><noscript>This report needs JavaScript.</noscript></div>'
            f"<script>window.DETAUDIT_DATA={script_data(data)};</script><script>{static_text('app.js')}</script>")
    return _page(data.get("title", "detaudit report"), head, body)


def rule_page(r) -> str:
    body_md = r.doc.split("\n", 1)[1].strip() if "\n" in r.doc else ""
    body = (f'<header><h1>{html.escape(r.code)} {html.escape(r.name)}</h1><nav>'
            f'<a class="tab" href="../index.html#/rules">← Rules</a>'
            f'<a class="tab" href="../index.html#/matrix">Quality gate</a></nav></header>'
            f'<article class="doc" id="rule-doc"><p><strong>{html.escape(r.name)}</strong> '
            f"· {html.escape(r.severity)} "
            f"· tier {html.escape(r.tier)} · from <code>{html.escape(r.origin)}</code></p>"
            f"<p>{markdown.inline(r.summary)}</p>{markdown.render(body_md)}</article>")
    return _page(f"{r.code} {r.name}", '<link rel="stylesheet" href="../app.css">', body)


def write_site(data: dict, out_dir: str | os.PathLike) -> list[Path]:
    """Write the site into ``out_dir`` (created if needed); returns the files written."""
    from ..atomic import write_atomic

    out = Path(out_dir)
    (out / "rules").mkdir(parents=True, exist_ok=True)
    data = dict(data, rule_pages="rules/")
    sheet_files = data.pop("sheet_files", [])   # (source, name in the site): copied, not written into data.js
    files = {
        "index.html": _page(data.get("title", "detaudit dashboard"), '<link rel="stylesheet" href="app.css">',
                            '<div id="app"><noscript>This dashboard needs JavaScript.</noscript></div>'
                            '<script src="data.js"></script><script src="app.js"></script>'),
        "app.css": static_text("app.css"),
        "app.js": static_text("app.js"),
        "data.js": f"window.DETAUDIT_DATA={script_data(data)};\n",
    }
    try:
        from ..registry import all_rules

        rules = all_rules()
    except Exception:  # noqa: BLE001 - without rule packs the site has no rule pages, nothing else changes
        rules = {}
    for code, info in data["rules"].items():
        if info.get("doc") and code in rules:
            files[f"rules/{code}.html"] = rule_page(rules[code])
    umask = os.umask(0)
    os.umask(umask)
    written = []
    for name, text in files.items():
        path = out / name
        write_atomic(str(path), text)
        os.chmod(path, 0o644 & ~umask)   # a site is for reading: not the temporary file's private mode
        written.append(path)
    for source, name in sheet_files:  # contact sheets (detaudit data), copied beside the pages
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".part")
        shutil.copyfile(source, temp)
        os.replace(temp, path)
        os.chmod(path, 0o644 & ~umask)
        written.append(path)
    return written
