"""The text of a PDF, page by page, read with pypdf (for checking what an export says)."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def text(pdf: bytes) -> str:
    return "\n".join(pages(pdf))
