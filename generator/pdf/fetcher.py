"""The only way WeasyPrint may read anything: files inside the build directory.

No network, no data: URLs, nothing outside the directory (symlinks are resolved first). A refused
URL is recorded and the resource is left out, as WeasyPrint does with any failed fetch.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

_TYPES = {
    ".css": "text/css",
    ".html": "text/html",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ttf": "font/ttf",
    ".woff2": "font/woff2",
}


class BuildDirFetcher(URLFetcher):
    def __init__(self, build_dir: Path) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.build_dir = build_dir.resolve()
        self.refused: list[str] = []
        self.fetched: list[str] = []

    def allowed_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(unquote(parts.path)).resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        if not path.is_relative_to(self.build_dir) or not path.is_file():
            return None
        return path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = self.allowed_path(url)
        if path is None:
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url!r}: only files inside the build directory")
        self.fetched.append(path.relative_to(self.build_dir).as_posix())
        kind = _TYPES.get(path.suffix.lower(), "application/octet-stream")
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": kind}
        )
