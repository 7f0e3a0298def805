"""Number formats for output cells, added to styles.xml only when missing (so refresh twice
adds nothing) and never removing or renumbering anything already there."""

from __future__ import annotations

from lxml import etree

from .cells import FORMATS
from .package import NS_MAIN, parse_xml, q

MINIMAL_STYLES = (
    f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/>'
    '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" '
    'fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" '
    'fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle '
    'name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()

# Formats Excel knows by number, so no <numFmt> is needed for them.
_BUILTIN = {"0.00": 2, "#,##0": 3}


def ensure_formats(styles_xml: bytes | None) -> tuple[bytes | None, dict[str, int]]:
    """(new styles.xml or None when unchanged, format name -> cellXfs index)."""
    root = parse_xml(styles_xml or MINIMAL_STYLES)
    changed = styles_xml is None
    num_fmts = root.find(q("numFmts"))
    codes: dict[str, int] = {}
    if num_fmts is not None:
        for nf in num_fmts.iter(q("numFmt")):
            codes.setdefault(nf.get("formatCode", ""), int(nf.get("numFmtId", "0")))
    next_id = max([163, *codes.values()]) + 1
    cell_xfs = root.find(q("cellXfs"))
    if cell_xfs is None:
        cell_xfs = etree.SubElement(root, q("cellXfs"))
        etree.SubElement(cell_xfs, q("xf"), numFmtId="0", fontId="0", fillId="0", borderId="0", xfId="0")
        changed = True
    xfs = list(cell_xfs.iter(q("xf")))
    out: dict[str, int] = {}
    for name, (code, _width) in FORMATS.items():
        if code is None:
            out[name] = 0
            continue
        fmt_id = _BUILTIN.get(code) or codes.get(code)
        if fmt_id is None:
            fmt_id = codes[code] = next_id
            next_id += 1
            if num_fmts is None:
                num_fmts = etree.Element(q("numFmts"))
                root.insert(0, num_fmts)
            etree.SubElement(num_fmts, q("numFmt"), numFmtId=str(fmt_id), formatCode=code)
            num_fmts.set("count", str(len(num_fmts)))
            changed = True
        index = _find_plain_xf(xfs, fmt_id)
        if index is None:
            xf = etree.SubElement(cell_xfs, q("xf"), numFmtId=str(fmt_id), fontId="0", fillId="0",
                                  borderId="0", xfId="0", applyNumberFormat="1")
            xfs.append(xf)
            index = len(xfs) - 1
            cell_xfs.set("count", str(len(xfs)))
            changed = True
        out[name] = index
    if not changed:
        return None, out
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), out


def _find_plain_xf(xfs: list[etree._Element], fmt_id: int) -> int | None:
    for i, xf in enumerate(xfs):
        if (xf.get("numFmtId") == str(fmt_id) and xf.get("fontId", "0") == "0"
                and xf.get("fillId", "0") == "0" and xf.get("borderId", "0") == "0"
                and xf.get("xfId", "0") == "0" and len(xf) == 0
                and xf.get("applyNumberFormat") == "1"):
            return i
    return None
