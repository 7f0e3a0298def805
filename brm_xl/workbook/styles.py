"""Number formats for output cells, added to styles.xml only when missing (so refresh twice
adds nothing) and never removing or renumbering anything already there."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from brm_xl.problems import WorkbookError
from brm_xl.workbook.cells import FORMATS
from brm_xl.workbook.package import NS_MAIN, parse_xml

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
    """(new styles.xml or None when unchanged, format name -> cellXfs index).

    New number formats always get an id no <numFmt> uses yet (two formats may share a
    code, and reusing either id would restyle the user's cells); new elements go in the
    stylesheet's own namespace, whatever program wrote it; and every index handed out is
    checked to point at an xf with the wanted format."""
    root = parse_xml(styles_xml or MINIMAL_STYLES)
    ns = etree.QName(root).namespace or NS_MAIN

    def tag(name: str) -> str:
        return f"{{{ns}}}{name}"

    changed = styles_xml is None
    num_fmts = root.find(tag("numFmts"))
    codes: dict[str, int] = {}
    used_ids = {163}
    if num_fmts is not None:
        for nf in num_fmts.findall(tag("numFmt")):
            fmt_id = _int(nf.get("numFmtId"))
            used_ids.add(fmt_id)
            codes.setdefault(nf.get("formatCode", ""), fmt_id)
    next_id = max(used_ids) + 1
    cell_xfs = root.find(tag("cellXfs"))
    if cell_xfs is None:
        cell_xfs = etree.SubElement(root, tag("cellXfs"))
        etree.SubElement(cell_xfs, tag("xf"), numFmtId="0", fontId="0", fillId="0", borderId="0",
                         xfId="0")
        changed = True
    xfs = cell_xfs.findall(tag("xf"))
    out: dict[str, int] = {}
    wanted: dict[str, int] = {}
    for name, (code, _width) in FORMATS.items():
        if code is None:
            out[name], wanted[name] = 0, -1
            continue
        known = _BUILTIN.get(code) or codes.get(code)
        if known is not None:
            fmt_id = known
        else:
            fmt_id = codes[code] = next_id
            next_id += 1
            if num_fmts is None:
                num_fmts = etree.Element(tag("numFmts"))
                root.insert(0, num_fmts)
            etree.SubElement(num_fmts, tag("numFmt"), numFmtId=str(fmt_id), formatCode=code)
            num_fmts.set("count", str(len(num_fmts.findall(tag("numFmt")))))
            changed = True
        index = _find_plain_xf(xfs, fmt_id)
        if index is None:
            xf = etree.SubElement(cell_xfs, tag("xf"), numFmtId=str(fmt_id), fontId="0",
                                  fillId="0", borderId="0", xfId="0", applyNumberFormat="1")
            xfs.append(xf)
            index = len(xfs) - 1
            changed = True
        out[name], wanted[name] = index, fmt_id
    if changed:
        cell_xfs.set("count", str(len(xfs)))
    _check(root, tag, out, wanted)
    if not changed:
        return None, out
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), out


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _check(root: etree._Element, tag: Callable[[str], str], out: dict[str, int],
           wanted: dict[str, int]) -> None:
    """Each handed-out index is an xf of the wanted format, in the stylesheet as written."""
    cell_xfs = root.find(tag("cellXfs"))
    xfs = cell_xfs.findall(tag("xf")) if cell_xfs is not None else []
    for name, index in out.items():
        if wanted[name] == -1:
            continue
        if index >= len(xfs) or _int(xfs[index].get("numFmtId")) != wanted[name]:
            raise WorkbookError("the workbook's styles part is laid out in a way brm_xl cannot "
                                "extend safely; open the workbook in Excel or LibreOffice, save "
                                "it, and run again")


def _find_plain_xf(xfs: list[etree._Element], fmt_id: int) -> int | None:
    for i, xf in enumerate(xfs):
        if (xf.get("numFmtId") == str(fmt_id) and xf.get("fontId", "0") == "0"
                and xf.get("fillId", "0") == "0" and xf.get("borderId", "0") == "0"
                and xf.get("xfId", "0") == "0" and len(xf) == 0
                and xf.get("applyNumberFormat") in ("1", "true")):
            return i
    return None
