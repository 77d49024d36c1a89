"""The chronology and the learning brief as files: PDF (WeasyPrint), CSV and Word
(python-docx), in the simple columns of the partnerships' chronology templates (date,
agency, contact, who was seen, what was found, what was done). Every file is marked
OFFICIAL-SENSITIVE: the first line of a CSV, the header and footer of every page of a PDF
or Word document. Addresses arrive already through ``cradle.access.disclosure``."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.template.loader import render_to_string

from cradle.domain.collector import collector_paused
from cradle.partnership.chronology import COLUMNS, MARKING

PDF_CSS = """
@page { size: A4 landscape; margin: 18mm 12mm 16mm 12mm;
  @top-center { content: "OFFICIAL-SENSITIVE"; font: bold 9pt sans-serif; }
  @bottom-center { content: "OFFICIAL-SENSITIVE \\2014  page " counter(page) " of " counter(pages);
                   font: 8pt sans-serif; } }
@page brief { size: A4 portrait; }
body { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 9pt; color: #212b32; }
h1 { font-size: 16pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 12pt 0 4pt; color: #005eb8; }
h3 { font-size: 10.5pt; margin: 10pt 0 2pt; }
/* Rows ruled off, no column rules, borders not collapsed: WeasyPrint lays out and draws a
   long chronology markedly faster so (bench/bench_partnership.py). */
table { border-collapse: separate; border-spacing: 0; width: 100%; table-layout: fixed;
        border-top: 0.5pt solid #aeb7bd; }
col.date { width: 7%; } col.agency { width: 10%; } col.contact { width: 14%; }
col.seen { width: 11%; } col.found { width: 29%; } col.done { width: 29%; }
th, td { border-bottom: 0.5pt solid #aeb7bd; padding: 2pt 3pt;
         vertical-align: top; text-align: left; }
th { background: #e8edee; }
thead { display: table-header-group; }
.mark { font-weight: bold; color: #d5281b; }
.gap td { background: #fff9c4; }
.alert td { background: #fdf1e6; }
.brief { page: brief; font-size: 10.5pt; }
.brief .strap { font-weight: bold; }
.rec-title { font-weight: bold; }
"""


def _text(entry: dict, field: str) -> str:
    value = entry.get(field) or ""
    if field == "found" and entry.get("mark") and entry["mark"] not in ("Alert", "Withheld"):
        return f"{entry['mark']}: {value}" if value else entry["mark"]
    return value


def _date(entry: dict) -> str:
    return date.fromisoformat(entry["date"]).strftime("%d/%m/%Y")


def rows(chronology: dict) -> list[list[str]]:
    """The chronology in the template's six columns."""
    return [
        [_date(e), e["agency"], e["contact"], e["seen"], _text(e, "found"), _text(e, "done")]
        for e in chronology["entries"]
    ]


def to_csv(chronology: dict) -> bytes:
    out = io.StringIO()
    out.write(MARKING + "\r\n")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows(chronology))
    return out.getvalue().encode("utf-8")


def to_docx(chronology: dict) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    for part in (section.header, section.footer):
        paragraph = part.paragraphs[0]
        paragraph.text = MARKING
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.runs[0].bold = True
    doc.styles["Normal"].font.size = Pt(9)
    doc.add_heading(f"Multi-agency chronology: {chronology['title']}", level=1)
    doc.add_paragraph(
        f"As of {date.fromisoformat(chronology['as_of']):%d %B %Y}. Gaps of "
        f"{chronology['gap_days']} days or more in which no professional saw the baby are marked."
    )
    doc.add_heading("People", level=2)
    people = doc.add_table(rows=1, cols=4)
    people.style = "Table Grid"
    for cell, text in zip(people.rows[0].cells, ("Name", "Role", "Born", "Address"), strict=True):
        cell.text = text
    for p in chronology["people"]:
        for cell, text in zip(
            people.add_row().cells, (p["name"], p["role"], p["born"], p["address"]), strict=True
        ):
            cell.text = text
    doc.add_heading("Chronology", level=2)
    table = doc.add_table(rows=1, cols=len(COLUMNS))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, COLUMNS, strict=True):
        cell.text = text
    for row in rows(chronology):
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML

    # WeasyPrint makes about a million short-lived objects for a 500-entry chronology
    # (bench/bench_partnership.py measures the pause).
    with collector_paused():
        return HTML(string=html).write_pdf(stylesheets=[CSS(string=PDF_CSS)])


def to_pdf(chronology: dict) -> bytes:
    html = render_to_string(
        "partnership/chronology_pdf.html",
        {
            "c": chronology,
            "columns": COLUMNS,
            "rows": zip(chronology["entries"], rows(chronology), strict=True),
            "marking": MARKING,
        },
    )
    return _pdf(html)


def learning_brief_pdf(context: dict) -> bytes:
    return _pdf(render_to_string("partnership/brief_pdf.html", {**context, "marking": MARKING}))
