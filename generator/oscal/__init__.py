"""OSCAL (NIST's Open Security Controls Assessment Language) import and export.

Import turns an OSCAL catalog or profile into an evidoc framework, and a mapping collection into
crosswalks; export writes assessment results, a component definition and a mapping collection
from the same report the gate uses. Everything is JSON, OSCAL 1.2.1, and deterministic: the same
inputs give the same bytes.
"""

OSCAL_VERSION = "1.2.1"
