"""The PDF audit pack: a document model, print templates, a sandboxed WeasyPrint render in a
subprocess, the snapshot embedded as PDF/A-3 associated files, and offline verification."""
