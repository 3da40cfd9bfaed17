"""Render one audit pack with WeasyPrint, in a process of its own.

    python -m generator.pdf.render_worker JOB.json
    python -m generator.pdf.render_worker -        # imports first, then reads JOB.json's path

The job names the build directory, the HTML file inside it, the PDF to write there, the files
to embed and the document time. WeasyPrint does not give memory back, so the caller starts one
process per pack (early, with "-", so that importing WeasyPrint overlaps the report); the fetcher
lets it read nothing but the build directory. Prints a JSON line: pages, seconds, refused URLs
and WeasyPrint's warnings. An empty line on standard input means "nothing to do".
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

PDF_VARIANT = "pdf/a-3b"  # when the job names none
_MIME = {".json": "application/json", ".sig": "application/json"}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _finisher(document: Any, pdf: Any) -> None:
    """Pin what WeasyPrint would otherwise take from the machine (the MIME types of embedded
    files come from the system's mime.types; set them from the name), and list each associated
    file once in the catalog's /AF (WeasyPrint 70 adds every one twice)."""
    if "AF" in pdf.catalog:
        unique = list(dict.fromkeys(pdf.catalog["AF"]))
        pdf.catalog["AF"].clear()
        pdf.catalog["AF"].extend(unique)
    for obj in pdf.objects:
        if isinstance(obj, dict) and obj.get("Type") == "/Filespec":
            name = str(getattr(obj.get("UF"), "string", ""))
            stream = pdf.objects[int(obj["EF"]["F"].split()[0])]
            mime = next(
                (m for s, m in _MIME.items() if name.endswith(s)), "application/octet-stream"
            )
            stream.extra["Subtype"] = "/" + mime.replace("/", "#2f")


def render(job: dict[str, Any]) -> dict[str, Any]:
    from weasyprint import HTML, Attachment
    from weasyprint.logger import LOGGER

    from generator.pdf.fetcher import BuildDirFetcher

    # WeasyPrint builds millions of objects that all live until the PDF is written; each full
    # collection of the cycle collector walks all of them, which cost a quarter of the render
    # time of a 1,000-control pack. This process renders one pack and exits, so collect less.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1_000)

    collect = _Collect()
    LOGGER.addHandler(collect)
    LOGGER.propagate = False
    build = Path(job["build_dir"]).resolve()
    fetcher = BuildDirFetcher(build)
    created = dt.datetime.fromisoformat(job["created"].replace("Z", "+00:00"))
    # WeasyPrint formats these times with a literal "Z": give it UTC without a zone.
    naive = created.astimezone(dt.UTC).replace(tzinfo=None)

    start = time.perf_counter()
    html = HTML(filename=str(build / job["html"]), url_fetcher=fetcher)
    document = html.render()
    laid_out = time.perf_counter()
    attachments = [
        Attachment(
            file_obj=io.BytesIO(Path(a["path"]).read_bytes()),
            name=a["name"],
            description=a["description"],
            relationship=a["relationship"],
            created=naive,
            modified=naive,
        )
        for a in job["attachments"]
    ]
    document.write_pdf(
        build / job["output"],
        pdf_variant=job.get("variant", PDF_VARIANT),
        attachments=attachments,
        finisher=_finisher,
    )
    done = time.perf_counter()
    return {
        "pages": len(document.pages),
        "layout_seconds": round(laid_out - start, 3),
        "seconds": round(done - start, 3),
        "refused": fetcher.refused,
        "fetched": fetcher.fetched,
        "warnings": collect.messages,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m generator.pdf.render_worker JOB.json|-", file=sys.stderr)
        return 2
    path = args[0]
    if path == "-":
        import weasyprint  # noqa: F401  (the slow part, done while the caller prepares the job)

        path = sys.stdin.readline().strip()
        if not path:
            return 0
    job = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(render(job), sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Tearing down the laid-out document object by object takes a noticeable time for
    # nothing: the PDF is written and the process ends here.
    os._exit(code)
