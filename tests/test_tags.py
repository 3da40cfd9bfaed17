"""Tag normalisation: the forms real docs pages carry resolve the same way."""

from __future__ import annotations

from generator.tags import normalise


def test_mojibake_section_sign_is_repaired() -> None:
    assert normalise("MSBFS 2020:7 3 kap. 1 ยง")[0] == "MSBFS 2020:7 3 kap. 1 §"
    assert normalise("HIPAA - Â§ 164.308(a)(1)")[0] == "HIPAA - § 164.308(a)(1)"


def test_deprecated_prefix_and_whitespace() -> None:
    text, deprecated = normalise("[deprecated]  ISO 27001:2013\nA.12.1.4   Separation")
    assert text == "ISO 27001:2013 A.12.1.4 Separation" and deprecated
    assert normalise("ISO 27001 A.12.1.4")[1] is False


def test_unicode_is_composed() -> None:
    decomposed = "HSLF-FS 2016:40 3 kap. 10 § Upphandling och utvecklinga\u0308"
    assert normalise(decomposed)[0].endswith("utvecklingä")
