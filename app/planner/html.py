"""Small HTML helpers shared by the planner and handout pages: escaping, dates, the page shell."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from urllib.parse import urlencode

STATIC = "/taper-planner/static"
# Pages hold no patient data, but links stay out of Referer headers all the same; scripts and
# styles come from this service only (no inline script).
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def long_date(day: date) -> str:
    """'Nov 23, 2026': month in words, so no reader mistakes day and month."""
    return f"{day:%b} {day.day}, {day.year}"


def weekday_date(day: date) -> str:
    return f"{day:%a}, {long_date(day)}"


def href(path: str, pairs: Sequence[tuple[str, str]]) -> str:
    return esc(f"{path}?{urlencode(pairs)}" if pairs else path)


def hidden(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in pairs)


def page(
    title: str, body: str, *, css: Sequence[str], js: Sequence[str] = (), body_class: str = ""
) -> str:
    links = "".join(f'<link rel="stylesheet" href="{STATIC}/{name}">' for name in css)
    scripts = "".join(f'<script src="{STATIC}/{name}" defer></script>' for name in js)
    klass = f' class="{esc(body_class)}"' if body_class else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title>{links}{scripts}</head><body{klass}>{body}</body></html>"
    )


def error_page(problems: Sequence[str], *, back: str | None = None) -> str:
    """The 400 page: what could not be read, by parameter, and how to go on."""
    items = "".join(f"<li>{esc(p)}</li>" for p in problems)
    again = (
        f'<p><a href="{esc(back)}">Open the planner with nothing filled in</a>.</p>' if back else ""
    )
    body = (
        f'<header class="banner"><p class="brand">benzo-safety-cds</p></header>'
        f'<main id="main"><h1>The taper planner could not read this link</h1>'
        f'<p>Nothing was computed. Please check:</p><ul class="problems">{items}</ul>'
        f"<p>The planner reads only the drug, its form and strength, the confirmed daily "
        f"dose, the start date, the pace and your adjustments; it never needs patient "
        f"details.</p>{again}</main>"
    )
    return page("Taper planner: link not understood", body, css=("planner.css",))
