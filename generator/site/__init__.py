"""The docs site: Markdown pages generated from the report, a derived mkdocs.yml, and the
MkDocs build, release (mike) and live preview around them."""
