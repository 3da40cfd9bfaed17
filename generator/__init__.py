"""evidoc: compliance evidence and control-mapping documentation generator."""

__version__ = "0.1.0"
