"""No template carries script a strict Content-Security-Policy (`script-src 'self'`, no
'unsafe-inline', no 'unsafe-eval') would block: page data goes through json_script, which
renders its element at run time, and behaviour lives in static/js/."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines

# Template comments are not served; Django tags and variables hold no markup of their own.
TEMPLATE_COMMENT = re.compile(r"\{%\s*comment\b.*?%\}.*?\{%\s*endcomment\s*%\}|\{#.*?#\}", re.S)
TEMPLATE_CODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)

RULES = {
    "inline <script> (a script needs src=)": re.compile(r"<script\b(?![^>]*\ssrc\s*=)[^>]*>", re.I),
    "inline on*= handler": re.compile(r"(?<![\w:.-])on[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript\s*:", re.I),
    "hx-on (htmx evaluates it)": re.compile(r"(?<![\w-])(?:data-)?hx-on[\w:.-]*\s*=", re.I),
    "js: value (htmx evaluates it)": re.compile(
        r"(?:data-)?hx-(?:vals|vars|headers)\s*=\s*[\"']\s*js\s*:", re.I
    ),
}
HX_TRIGGER = re.compile(r"(?<![\w-])(?:data-)?hx-trigger\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)


def blank(match: re.Match) -> str:
    """The match replaced by spaces, its newlines kept, so line numbers stay right."""
    return re.sub(r"[^\n]", " ", match.group(0))


def offences(source: str) -> list[tuple[int, str, str]]:
    """(line, rule, excerpt) for every piece of inline script in a template's source."""
    text = TEMPLATE_CODE.sub(blank, TEMPLATE_COMMENT.sub(blank, source))
    found = []

    def add(position: int, rule: str, excerpt: str):
        found.append((text.count("\n", 0, position) + 1, rule, excerpt.strip()[:80]))

    for rule, pattern in RULES.items():
        for match in pattern.finditer(text):
            add(match.start(), rule, source[match.start() : match.start() + 80].splitlines()[0])
    # An event filter, `click[ctrlKey]`, is evaluated; `from:input[type=date]` is a selector.
    for match in HX_TRIGGER.finditer(text):
        for trigger in match.group(1)[1:-1].split(","):
            event = (trigger.split() or [""])[0]
            if "[" in event:
                add(match.start(), "hx-trigger event filter (htmx evaluates it)", match.group(0))
    return sorted(found)


def project_templates() -> list[Path]:
    """Every template file of the project: the template directories Django searches that
    are ours, not an installed package's."""
    root = Path(settings.BASE_DIR).resolve()
    files = []
    for directory in engines["django"].template_dirs:
        directory = Path(directory).resolve()
        if not directory.is_relative_to(root) or {"site-packages", "node_modules"} & set(
            directory.parts
        ):
            continue
        files += [path for path in directory.rglob("*") if path.is_file()]
    return sorted(set(files))


def test_no_template_carries_inline_script_handlers_or_javascript_urls():
    templates = project_templates()
    root = Path(settings.BASE_DIR).resolve()
    assert root / "templates" / "base.html" in templates  # the scan sees our templates

    offenders = [
        f"{path.relative_to(root)}:{line}: {rule}: {excerpt}"
        for path in templates
        for line, rule, excerpt in offences(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "Inline script in templates:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<SCRIPT type="text/javascript">go()</SCRIPT>',
        '<script type="application/json" id="d">{"n": {{ n }}}</script>',
        '<script nonce="abc">go()</script>',
        '<select onchange="this.form.submit()">',
        "<button class='btn' onClick='window.print()'>",
        '<body onload="start()">',
        '<a href="javascript:void(0)">',
        '<a href=" JavaScript:go()">',
        '<form hx-post="/x" hx-on::after-request="this.reset()">',
        '<button hx-on:click="go()">',
        '<div data-hx-on-htmx-after-swap="go()">',
        "<div hx-vals='js:{day: today()}'>",
        '<input hx-get="/s" hx-trigger="keyup[key==\'Enter\'] changed delay:1s">',
    ],
)
def test_the_scan_finds_inline_script(source):
    assert offences(source)


@pytest.mark.parametrize(
    "source",
    [
        "<script src=\"{% static 'js/app.js' %}\" defer></script>",
        "<script defer src=\"{% static 'js/charts.js' %}\"></script>",
        '{{ chart|json_script:"sla-trend-data" }}',
        '<canvas id="c" data-chart="c-data" height="90"></canvas>',
        "<select data-autosubmit>",
        '<button type="button" data-print>Print</button>',
        "<p>Based on the month: one row per month, and an online lead counts once.</p>",
        '<form hx-trigger="submit, change from:select, change from:input[type=date]">',
        '<div hx-get="/p" hx-trigger="every 1s">',
        '<body hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'>',
        "{# <script>alert(1)</script> #}",
        '{% comment %}<button onclick="go()">{% endcomment %}',
        '{% if person.online %}<span class="badge">online</span>{% endif %}',
    ],
)
def test_the_scan_lets_files_data_and_attributes_through(source):
    assert offences(source) == []
