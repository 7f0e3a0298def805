"""Email messages: workbook text never becomes a header."""

from __future__ import annotations

from brm_xl.delivery.messages import address, one_line


def test_header_text_cannot_add_a_header():
    assert one_line("Pat\r\nBcc: all@x.example") == "Pat Bcc: all@x.example"
    assert one_line(None) == ""
    head = address("Lee\nBcc: x@y.example", "lee@agency.example")
    assert "\n" not in str(head) and head.addr_spec == "lee@agency.example"
