"""A tiny document model rendered to both Markdown and self-contained HTML, plus number formatting.

Reports are built once as a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Code`,
:class:`Gallery`) and rendered twice, so the Markdown and the HTML versions always say the same thing.

* Markdown links and images are relative paths (the ``.md`` file lives next to what it points at).
* HTML is a single page with inline CSS; images are inlined as ``data:`` URIs so the file can be mailed or moved
  alone. Every piece of text is passed through :func:`html.escape`, and nothing external is loaded.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "Code",
    "Document",
    "Gallery",
    "Heading",
    "Image",
    "Link",
    "Paragraph",
    "Table",
    "fmt_cell",
    "fmt_check",
    "fmt_metric",
    "fmt_params",
    "fmt_seconds",
    "data_uri",
    "href",
    "images_in",
    "render_html",
    "render_markdown",
    "write_document",
]

MISSING = "—"
CHECK = "✓"
CROSS = "✗"


# --------------------------------------------------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------------------------------------------------


def fmt_metric(value: object) -> str:
    """Format a metric value with 4 significant digits.

    Args:
        value: A number (int, float, numpy scalar), ``None`` or anything else.

    Returns:
        ``"0.9812"``, ``"12.00"``, ``"1.235e+06"``, ``"nan"``; ``"—"`` for ``None``; ``str(value)`` for
        non-numbers. Booleans become ✓/✗. No percent sign is ever added.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return fmt_check(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = f"{v:#.4g}"
        # "#" keeps trailing zeros ("0.9500") but also a dangling point ("1234."): drop the latter.
        mantissa, sep, exponent = text.partition("e")
        return mantissa.rstrip(".") + sep + exponent
    return str(value)


def fmt_params(value: object) -> str:
    """Format a parameter count with thousands separators (``1234567`` -> ``"1,234,567"``).

    Args:
        value: An integer-like number, or ``None``.

    Returns:
        The formatted count, ``"—"`` when unknown.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return MISSING if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{int(value):,}"


def fmt_seconds(value: object, *, unit: bool = True) -> str:
    """Format a duration in seconds with one decimal (``12.345`` -> ``"12.3 s"``).

    Args:
        value: Seconds, or ``None``.
        unit: Append ``" s"``.

    Returns:
        The formatted duration, ``"—"`` when unknown.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return MISSING if value is None else str(value)
    text = f"{float(value):.1f}"
    return f"{text} s" if unit else text


def fmt_check(value: object) -> str:
    """Render a yes/no value as ✓ or ✗ (``None`` -> ``"—"``).

    Args:
        value: A truthy/falsy value or ``None``.

    Returns:
        ``"✓"``, ``"✗"`` or ``"—"``.
    """
    if value is None:
        return MISSING
    return CHECK if value else CROSS


def fmt_cell(value: object) -> str:
    """Format an arbitrary table cell from a summary ``tables`` entry.

    Floats get 4 significant digits, integers are printed as-is, booleans become ✓/✗ and ``None`` becomes ``"—"``.

    Args:
        value: The raw cell value.

    Returns:
        The cell text.
    """
    if value is None or isinstance(value, bool):
        return fmt_metric(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return fmt_metric(value)


# --------------------------------------------------------------------------------------------------------------------
# Document model
# --------------------------------------------------------------------------------------------------------------------


def href(target: Path, base: Path) -> str:
    """Relative, URL-quoted link from the folder ``base`` to ``target`` (POSIX separators).

    Args:
        target: The file linked to.
        base: The folder holding the document that contains the link.

    Returns:
        A relative URL such as ``"plots/loss.png"`` or ``"../runs/a%20b/report.md"``; an absolute ``file://`` URI
        when no relative path exists (different drives on Windows).
    """
    try:
        rel = os.path.relpath(Path(target).resolve(), Path(base).resolve())
    except ValueError:
        return Path(target).resolve().as_uri()
    return quote(Path(rel).as_posix())


@dataclass(frozen=True)
class Link:
    """A hyperlink whose target differs between the Markdown and the HTML rendering.

    Attributes:
        text: The visible text.
        md_href: Target used in Markdown (usually ``…/report.md``).
        html_href: Target used in HTML (usually ``…/report.html``).
    """

    text: str
    md_href: str
    html_href: str


Inline = str | Link


@dataclass(frozen=True)
class Image:
    """A picture on disk.

    Attributes:
        alt: Alternative text / caption.
        path: Where the file is on disk (read for HTML inlining).
        md_src: Relative path used in Markdown.
    """

    alt: str
    path: Path
    md_src: str


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 is the page title)."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph made of plain text pieces and links, concatenated."""

    parts: Sequence[Inline]


@dataclass(frozen=True)
class Table:
    """A table with a header row; cells are plain strings or links."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Inline]]


@dataclass(frozen=True)
class Code:
    """A preformatted code block (config, command line)."""

    text: str
    lang: str = ""


@dataclass(frozen=True)
class Gallery:
    """A group of images; ``thumbnails`` shows them small."""

    images: Sequence[Image]
    thumbnails: bool = False


Block = Heading | Paragraph | Table | Code | Gallery


@dataclass
class Document:
    """An ordered list of blocks with a title (used for the HTML ``<title>``)."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks.

        Args:
            *blocks: Blocks to append, in order.
        """
        self.blocks.extend(blocks)


# --------------------------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`<>[]|*"})


def _md_text(text: str) -> str:
    """Escape Markdown/inline-HTML metacharacters in plain text and fold newlines."""
    return " ".join(str(text).translate(_MD_SPECIAL).splitlines())


def _md_inline(part: Inline) -> str:
    if isinstance(part, Link):
        return f"[{_md_text(part.text)}]({part.md_href})"
    return _md_text(part)


def _md_fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside ``text``."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * max(1, min(6, block.level)) + " " + _md_text(block.text)
    if isinstance(block, Paragraph):
        return "".join(_md_inline(p) for p in block.parts)
    if isinstance(block, Table):
        width = len(block.columns)
        lines = ["| " + " | ".join(_md_text(c) or " " for c in block.columns) + " |"]
        lines.append("|" + "|".join(["---"] * width) + "|")
        for row in block.rows:
            cells = [_md_inline(c) for c in row] + [""] * (width - len(row))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
    if isinstance(block, Code):
        body = block.text.rstrip("\n")
        fence = _md_fence(body)
        return f"{fence}{block.lang}\n{body}\n{fence}"
    if isinstance(block, Gallery):
        return "\n".join(f"![{_md_text(img.alt)}]({img.md_src})" for img in block.images)
    raise TypeError(f"unknown block {block!r}")


def render_markdown(doc: Document) -> str:
    """Render a document as GitHub-flavoured Markdown.

    Args:
        doc: The document.

    Returns:
        The Markdown text, ending with a newline.
    """
    return "\n\n".join(_md_block(b) for b in doc.blocks if not _empty(b)) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #eee; }
h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tr:nth-child(even) td { background: #fafafa; }
td.yes { color: #17803d; font-weight: 600; }
td.no { color: #b3261e; font-weight: 600; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .75rem; overflow-x: auto; font-size: .85rem; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figure.thumb img { width: 16rem; }
figcaption { font-size: .8rem; color: #666; text-align: center; }
""".strip()

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml"}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_inline(part: Inline) -> str:
    if isinstance(part, Link):
        return f'<a href="{_esc(part.html_href)}">{_esc(part.text)}</a>'
    return _esc(part)


def _cell_class(part: Inline) -> str:
    text = part.text if isinstance(part, Link) else str(part)
    if text.startswith(CHECK):
        return ' class="yes"'
    if text.startswith(CROSS):
        return ' class="no"'
    return ""


def data_uri(path: Path) -> str | None:
    """Inline a file as a base64 ``data:`` URI.

    Args:
        path: The image file.

    Returns:
        The URI, or ``None`` when the file cannot be read.
    """
    try:
        payload = Path(path).read_bytes()
    except OSError:
        return None
    mime = _MIME.get(Path(path).suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        level = max(1, min(6, block.level))
        return f"<h{level}>{_esc(block.text)}</h{level}>"
    if isinstance(block, Paragraph):
        return "<p>" + "".join(_html_inline(p) for p in block.parts) + "</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_esc(c)}</th>" for c in block.columns)
        body = "\n".join(
            "<tr>" + "".join(f"<td{_cell_class(c)}>{_html_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    if isinstance(block, Code):
        cls = f' class="language-{_esc(block.lang)}"' if block.lang else ""
        return f"<pre><code{cls}>{_esc(block.text.rstrip(chr(10)))}</code></pre>"
    if isinstance(block, Gallery):
        figures = []
        cls = ' class="thumb"' if block.thumbnails else ""
        for img in block.images:
            uri = data_uri(img.path)
            if uri is None:
                figures.append(f"<figure{cls}><figcaption>{_esc(img.alt)} (missing)</figcaption></figure>")
                continue
            figures.append(
                f'<figure{cls}><img src="{_esc(uri)}" alt="{_esc(img.alt)}">'
                f"<figcaption>{_esc(img.alt)}</figcaption></figure>"
            )
        return '<div class="gallery">\n' + "\n".join(figures) + "\n</div>"
    raise TypeError(f"unknown block {block!r}")


def _empty(block: Block) -> bool:
    return isinstance(block, Gallery) and not block.images


def render_html(doc: Document) -> str:
    """Render a document as one self-contained HTML page (inline CSS, inline images, no scripts).

    Args:
        doc: The document.

    Returns:
        The HTML text.
    """
    body = "\n".join(_html_block(b) for b in doc.blocks if not _empty(b))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(doc.title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def write_document(doc: Document, md_path: Path, html_path: Path) -> tuple[Path, Path]:
    """Render ``doc`` to Markdown and HTML files (UTF-8).

    Args:
        doc: The document.
        md_path: Destination of the Markdown file.
        html_path: Destination of the HTML file.

    Returns:
        ``(md_path, html_path)``.
    """
    md_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    html_path.write_text(render_html(doc), encoding="utf-8")
    return md_path, html_path


_CURVES = {"loss.png": 0, "lr.png": 1}


def _plot_order(path: Path) -> tuple[int, int, str]:
    """Recipe-specific figures first (by name), then ``loss``, ``lr`` and the ``val_*`` training curves."""
    name = path.name
    if name in _CURVES:
        return 1, _CURVES[name], name
    if name.startswith("val_"):
        return 1, 2, name
    return 0, 0, name


def images_in(folder: Path, base: Path) -> list[Image]:
    """List the PNGs in ``folder`` as :class:`Image` blocks with links relative to ``base``.

    Args:
        folder: Folder to scan (not recursive); a missing folder yields nothing.
        base: Folder of the document that will embed the images.

    Returns:
        The images: a recipe's own figures first (sorted by name), then the standard training curves
        (``loss``, ``lr``, ``val_*``).
    """
    if not folder.is_dir():
        return []
    found = sorted((p for p in folder.glob("*.png") if p.is_file()), key=_plot_order)
    return [Image(alt=p.stem, path=p, md_src=href(p, base)) for p in found]
