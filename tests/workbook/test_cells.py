"""Cells written: text escaped, trimmed, never a formula."""

from __future__ import annotations

from brm_xl.workbook.cells import MAX_TEXT, escape, text_cell


def test_cell_text_is_escaped_trimmed_and_never_a_formula():
    assert escape("a<b>&\x00\x1f c") == "a&lt;b&gt;&amp; c"
    assert len(escape("x" * (MAX_TEXT + 10))) == MAX_TEXT
    cell = text_cell("B2", "=HYPERLINK(\"http://evil\")", 3)
    assert cell.startswith('<c r="B2" s="3" t="inlineStr">') and "<f>" not in cell
    assert 'xml:space="preserve"' in text_cell("A1", " padded ", 0)
