"""Write output tables into a workbook at the part level, losing nothing else, atomically.

Only the output sheets, their table parts and the workbook-level parts that list them
(workbook.xml, its rels, [Content_Types].xml, styles.xml, calcChain.xml) are touched;
every other part's compressed bytes are copied as they were. Output sheets belong to
brm_xl: their cells are replaced, while column widths, charts and formatting a user adds
to them stay. The new file is written beside the old one and renamed over it.
"""

from __future__ import annotations

import io
import posixpath
import re
import threading

from lxml import etree

from brm_xl.problems import WorkbookError
from brm_xl.workbook import zipraw
from brm_xl.workbook.cells import OutputTable, sheet_data, table_range
from brm_xl.workbook.guard import Held, write_atomic
from brm_xl.workbook.package import (
    CT_RELS,
    CT_TABLE,
    CT_WORKSHEET,
    NS_CT,
    NS_MAIN,
    NS_PKG_REL,
    NS_R,
    REL_CALC_CHAIN,
    REL_STYLES,
    REL_TABLE,
    REL_WORKSHEET,
    Package,
    Sheet,
    col_letter,
    parse_xml,
    q,
    rels_path,
    to_xml,
)
from brm_xl.workbook.styles import ensure_formats

_MARK = "brmSheetData"


class PackageEdit:
    """The changes to one package, gathered and then written in a single pass."""

    def __init__(self, package: Package):
        if package.strict:
            raise WorkbookError(
                "this workbook is saved as Strict Open XML: brm_xl reads it (reports, email "
                "drafts) but cannot write it, so refresh, close and imports would stop here; "
                "in Excel use File > Save As > Excel Workbook (*.xlsx or *.xlsm) and run again")
        self.pkg = package
        self._lower_names = {n.casefold() for n in package.names}
        self._code_names: set[str] = set()
        self._damaged: list[str] = []
        self._crc_check = threading.Thread(target=self._check_parts, daemon=True)
        self._crc_check.start()  # zlib works outside the GIL: this overlaps the sheet writing
        self.replace: dict[str, bytes] = {}
        self.add: dict[str, bytes] = {}
        self.remove: set[str] = set()
        self._trees: dict[str, etree._Element] = {}
        self._new_names: set[str] = set()
        self._dirty: set[str] = set()
        self.table_ids = {t.table_id for t in package.tables.values()}
        styles_part = self._styles_part()
        styles_xml = package.read(styles_part) if styles_part in package.names else None
        new_styles, self.styles = ensure_formats(styles_xml)
        if new_styles is not None:
            self._put(styles_part, new_styles)
            if styles_xml is None:
                self._add_rel(package.workbook_part, REL_STYLES, styles_part)
                self._override(styles_part, "application/vnd.openxmlformats-officedocument"
                               ".spreadsheetml.styles+xml")
        self.rewritten_sheet_ids: set[int] = set()

    def _check_parts(self) -> None:
        self._damaged = zipraw.damaged_parts(self.pkg.data, self.pkg.entries)

    # -- parts as trees, edited in place and serialised at the end -------------------
    def tree(self, part: str) -> etree._Element:
        if part not in self._trees:
            self._trees[part] = parse_xml(self.read(part))
        return self._trees[part]

    def read(self, part: str) -> bytes:
        if part in self.add:
            return self.add[part]
        if part in self.replace:
            return self.replace[part]
        return self.pkg.read(part)

    def exists(self, part: str) -> bool:
        return (part in self.pkg.names or part in self.add) and part not in self.remove

    def _taken(self, part: str) -> bool:
        """Part names are case-insensitive in a package: sheet1.xml is Sheet1.xml's name."""
        name = part.casefold()
        return (name in self._lower_names or name in {n.casefold() for n in self.add}
                or name in {n.casefold() for n in self._new_names})

    def mark_dirty(self, part: str) -> None:
        """A tree from `tree(part)` was edited in place: write it on commit."""
        self._dirty.add(part)

    def _put(self, part: str, content: bytes) -> None:
        self._trees.pop(part, None)
        if part in self.pkg.names:
            self.replace[part] = content
        else:
            self.add[part] = content

    def _styles_part(self) -> str:
        for _, rtype, target, _ in self.pkg.workbook_rels:
            if rtype == REL_STYLES:
                return target
        return self.beside_workbook("styles.xml")

    def beside_workbook(self, name: str) -> str:
        """A new part's name in the workbook part's folder (xl/ as Excel saves it; wherever
        the package's relationships put workbook.xml in a file another program wrote)."""
        return posixpath.join(posixpath.dirname(self.pkg.workbook_part), name)

    def _rels_tree(self, part: str) -> etree._Element:
        path = rels_path(part)
        if not self.exists(path):
            self._trees[path] = etree.Element(q("Relationships", NS_PKG_REL), nsmap={None: NS_PKG_REL})
            self._new_names.add(path)
        return self.tree(path)

    def _add_rel(self, source: str, rtype: str, target: str) -> str:
        rels = self._rels_tree(source)
        used = {r.get("Id") for r in rels}
        n = len(used) + 1
        while f"rId{n}" in used:
            n += 1
        rid = f"rId{n}"
        rel_target = posixpath.relpath(target, posixpath.dirname(source) or ".")
        etree.SubElement(rels, q("Relationship", NS_PKG_REL), Id=rid, Type=rtype, Target=rel_target)
        self._dirty.add(rels_path(source))
        return rid

    def _override(self, part: str, content_type: str) -> None:
        types = self.tree("[Content_Types].xml")
        name = "/" + part
        if not any(o.get("PartName") == name for o in types.iter(q("Override", NS_CT))):
            etree.SubElement(types, q("Override", NS_CT), PartName=name, ContentType=content_type)
            self._dirty.add("[Content_Types].xml")

    def _free_part(self, pattern: str) -> str:
        n = 1
        while self._taken(pattern.format(n)) or self._taken(rels_path(pattern.format(n))):
            n += 1
        self._new_names.add(pattern.format(n))
        return pattern.format(n)

    # -- output tables ---------------------------------------------------------------
    def put_table(self, table: OutputTable) -> None:
        clash = self.pkg.defined_name(table.name)
        if clash is not None:
            raise WorkbookError(
                f"the workbook has a defined name {clash!r} (Formulas > Name Manager), and "
                f"brm_xl writes an Excel table called {table.name}; Excel allows only one of "
                "the two, so rename or delete that name and run again")
        existing = self.pkg.table(table.name)
        if existing is not None:
            others = [t.name for t in self.pkg.tables.values()
                      if t.sheet.part == existing.sheet.part and t.name != existing.name]
            if others:
                raise WorkbookError(
                    f"the output table {table.name} shares sheet {existing.sheet.name} with "
                    f"table {others[0]}; refresh rewrites that whole sheet, so move "
                    f"{others[0]} to another sheet")
            sheet, table_part, table_id = existing.sheet, existing.part, existing.table_id
            if table.hidden:  # kept very hidden, whatever another program's save made of it
                self._very_hidden(sheet.name)
            r1, c1 = existing.bounds[:2]
            sheet_root = self._shell(sheet.part)
        else:
            mine = self.pkg.sheet(table.name)
            if mine is not None and self.pkg.first_filled_row(mine) is not None:
                raise WorkbookError(
                    f"sheet {mine.name} holds data of its own, and brm_xl writes its "
                    f"{table.name} table on a sheet of that name; rename your sheet (or turn its "
                    f"data into an Excel table called {table.name} if it is an earlier copy of "
                    "brm_xl's) and run again")
            sheet = mine or self._new_sheet(table.name, table.hidden)
            sheet_root = self._shell(sheet.part) if self.exists(sheet.part) else \
                _new_sheet_root(table, self._code_name(table.name))
            r1, c1 = 1, 0
            table_part = self._free_part(self.beside_workbook("tables/table{}.xml"))
            table_id = max(self.table_ids | {0}) + 1
            self.table_ids.add(table_id)
            rid = self._add_rel(sheet.part, REL_TABLE, table_part)
            _add_table_part(sheet_root, rid)
            self._override(table_part, CT_TABLE)
        ref = table_range(table, r1, c1)
        old = parse_xml(self.read(table_part)) if self.exists(table_part) else None
        self._put(table_part, _table_xml(table, table_id, ref, old))
        self._put(sheet.part, _sheet_xml(sheet_root, table, self.styles, ref, r1, c1))
        self.rewritten_sheet_ids.add(sheet.sheet_id)

    def _very_hidden(self, name: str) -> None:
        workbook = self.tree(self.pkg.workbook_part)
        for el in workbook.find(q("sheets")).iter(q("sheet")):
            if el.get("name") == name and el.get("state") != "veryHidden":
                el.set("state", "veryHidden")
                self._dirty.add(self.pkg.workbook_part)

    def _shell(self, part: str) -> etree._Element:
        """An output sheet's XML without its rows, which are about to be replaced anyway:
        parsing 100,000 old rows only to drop them would cost seconds."""
        return parse_xml(without_rows(self.read(part)))

    def _code_name(self, name: str) -> str | None:
        """A VBA code name for a new sheet of a workbook with a VBA project: Sheet<N>,
        the first no sheet of the workbook uses yet (as Excel names them)."""
        if not any(n.casefold().endswith("vbaproject.bin") for n in self.pkg.names):
            return None
        used = set()
        for sheet in self.pkg.sheets:
            if sheet.part in self.pkg.names:
                found = re.search(rb'<(?:\w+:)?sheetPr\b[^>]*\bcodeName="([^"]+)"',
                                  self.pkg.read(sheet.part)[:4096])
                if found:
                    used.add(found.group(1).decode().casefold())
        used |= self._code_names
        n = 1
        while f"sheet{n}" in used:
            n += 1
        self._code_names.add(f"sheet{n}")
        return f"Sheet{n}"

    def _new_sheet(self, name: str, hidden: bool = False) -> Sheet:
        part = self._free_part(self.beside_workbook("worksheets/sheet{}.xml"))
        workbook = self.tree(self.pkg.workbook_part)
        sheets = workbook.find(q("sheets"))
        used = [int(s.get("sheetId", "0")) for s in sheets.iter(q("sheet"))]
        sheet_id = max(used + [0]) + 1
        rid = self._add_rel(self.pkg.workbook_part, REL_WORKSHEET, part)
        el = etree.SubElement(sheets, q("sheet"), name=name, sheetId=str(sheet_id))
        if hidden:
            el.set("state", "veryHidden")
        el.set(q("id", NS_R), rid)
        self._dirty.add(self.pkg.workbook_part)
        self._override(part, CT_WORKSHEET)
        return Sheet(name, sheet_id, rid, part)

    def _trim_calc_chain(self) -> None:
        """Drop calcChain entries of the sheets we rewrote; Excel rebuilds the rest."""
        chain = next((t for _, rt, t, _ in self.pkg.workbook_rels if rt == REL_CALC_CHAIN), None)
        if not chain or chain not in self.pkg.names or not self.rewritten_sheet_ids:
            return
        root = self.tree(chain)
        current = None
        dropped = False
        for c in list(root):
            sheet = c.get("i") or current  # an entry without i belongs to the sheet before it
            current = sheet
            if sheet is not None and int(sheet) in self.rewritten_sheet_ids:
                root.remove(c)
                dropped = True
            elif c.get("i") is None and sheet is not None:
                c.set("i", sheet)  # explicit, since the entry before it may be gone
        if not dropped:
            return
        self._dirty.add(chain)
        if len(root) == 0:
            self._dirty.discard(chain)
            self.remove.add(chain)
            rels = self.tree(rels_path(self.pkg.workbook_part))
            for rel in list(rels):
                if rel.get("Type") == REL_CALC_CHAIN:
                    rels.remove(rel)
            types = self.tree("[Content_Types].xml")
            for o in list(types):
                if o.get("PartName") == "/" + chain:
                    types.remove(o)
            self._dirty |= {rels_path(self.pkg.workbook_part), "[Content_Types].xml"}

    def build(self) -> bytes:
        """The edited package as bytes, checked: every part copied as it was unpacks to its
        recorded size and CRC, and the result is a well-formed package."""
        self._trim_calc_chain()
        self._content_types()
        for part in self._dirty:
            if part in self._trees:
                self._put_tree(part, self._trees[part])
        self._crc_check.join()
        copied = [n for n in self._damaged if n not in self.replace and n not in self.remove]
        if copied:
            raise WorkbookError(
                f"{self.pkg.path.name}: part {copied[0]} is damaged (its content does not match "
                "its checksum); open the workbook in Excel, let it repair the file, save it "
                "and run again")
        out = io.BytesIO()
        zipraw.rewrite(self.pkg.data, out, self.replace, self.remove, self.add)
        blob = out.getvalue()
        zipraw.read_entries(memoryview(blob))  # what we wrote reads back as a package
        return blob

    def _content_types(self) -> None:
        """Every new part has a content type, whether or not the file declares Defaults for
        .rels and .xml (LibreOffice 3.4 to 5.1 wrote none for .rels)."""
        types = self.tree("[Content_Types].xml")
        defaults = {d.get("Extension", "").casefold() for d in types.iter(q("Default", NS_CT))}
        overrides = {o.get("PartName", "").casefold() for o in types.iter(q("Override", NS_CT))}
        new = set(self.add) | {n for n in self._new_names if n in self._trees}
        for part in sorted(new):
            ext = part.rsplit(".", 1)[-1].casefold()
            if ext in defaults or "/" + part.casefold() in overrides:
                continue
            if ext == "rels":
                etree.SubElement(types, q("Default", NS_CT), Extension="rels",
                                 ContentType=CT_RELS)
                defaults.add("rels")
                self._dirty.add("[Content_Types].xml")

    def commit(self, held: Held) -> None:
        """Write the edited package over the held workbook, atomically, if it is unchanged."""
        blob = self.build()
        write_atomic(held.path, lambda out: out.write(blob), held)  # checks it is unchanged

    def _put_tree(self, part: str, root: etree._Element) -> None:
        content = to_xml(root)
        if part in self.pkg.names:
            self.replace[part] = content
        else:
            self.add[part] = content


_SHEET_DATA = re.compile(rb"<((?:\w+:)?sheetData)\b[^>]*?(/?)>")


def without_rows(xml: bytes) -> bytes:
    """The sheet XML with an empty <sheetData/> in place of its rows."""
    start = _SHEET_DATA.search(xml)
    if start is None:
        return xml
    tag = start.group(1)
    if start.group(2) == b"/":
        return xml
    end = xml.rfind(b"</" + tag + b">")
    if end < 0:
        return xml
    return xml[:start.start()] + b"<" + tag + b"/>" + xml[end + len(tag) + 3:]


def _new_sheet_root(table: OutputTable, code_name: str | None = None) -> etree._Element:
    """A new output sheet; in a workbook with macros it carries a code name, as Excel
    gives every sheet (VBA refers to sheets by them)."""
    pr = f'<sheetPr codeName="{code_name}"/>' if code_name else ""
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{c.width}" '
        'customWidth="1"/>'
        for i, c in enumerate(table.columns)
    )
    return parse_xml(
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">{pr}<dimension ref="A1"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        '</worksheet>'.encode()
    )


def _add_table_part(root: etree._Element, rid: str) -> None:
    parts = root.find(q("tableParts"))
    if parts is None:
        parts = etree.Element(q("tableParts"))
        ext = root.find(q("extLst"))
        if ext is not None:
            ext.addprevious(parts)
        else:
            root.append(parts)
    el = etree.SubElement(parts, q("tablePart"))
    el.set(q("id", NS_R), rid)
    parts.set("count", str(len(parts)))


def _sheet_xml(root: etree._Element, table: OutputTable, styles: dict[str, int], ref: str,
               r1: int, c1: int) -> bytes:
    data = root.find(q("sheetData"))
    for stale in (root.find(q("autoFilter")), root.find(q("sortState"))):
        if stale is not None:
            root.remove(stale)  # a sheet-level filter cannot overlap a table
    dim = root.find(q("dimension"))
    if dim is not None:
        dim.set("ref", ref)
    _set_hyperlinks(root, table, r1, c1)
    data.clear()
    data.set(_MARK, "1")
    text = to_xml(root).decode("utf-8")
    tag = etree.QName(data).localname if data.prefix is None else f"{data.prefix}:sheetData"
    placeholder = f'<{tag} {_MARK}="1"/>'
    if placeholder not in text:
        raise WorkbookError(f"cannot write sheet {table.name}: unexpected sheet XML")
    data.attrib.pop(_MARK)
    before, after = text.split(placeholder, 1)
    rows = sheet_data(table, styles, r1, c1)
    return b"".join([f"{before}<{tag}>".encode(), rows, f"</{tag}>{after}".encode()])


_AFTER_HYPERLINKS = (
    "printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
    "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
    "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
    "tableParts", "extLst",
)


def _set_hyperlinks(root: etree._Element, table: OutputTable, r1: int, c1: int) -> None:
    """Links from a column's cells to places in the workbook (Problems -> the bad cell)."""
    old = root.find(q("hyperlinks"))
    if old is not None:
        root.remove(old)
    if not table.links:
        return
    links = etree.Element(q("hyperlinks"))
    names = [c.name for c in table.columns]
    for column, targets in table.links.items():
        letter = col_letter(c1 + names.index(column))
        for i, target in enumerate(targets):
            if target:
                etree.SubElement(links, q("hyperlink"), ref=f"{letter}{r1 + 1 + i}",
                                 location=target, display=target)
    if len(links) == 0:
        return
    after = next((el for el in root if etree.QName(el).localname in _AFTER_HYPERLINKS), None)
    if after is not None:
        after.addprevious(links)
    else:
        root.append(links)


def _table_xml(table: OutputTable, table_id: int, ref: str, old: etree._Element | None) -> bytes:
    root = etree.Element(q("table"), nsmap={None: NS_MAIN})
    root.set("id", str(table_id))
    root.set("name", table.name)
    root.set("displayName", table.name)
    root.set("ref", ref)
    root.set("totalsRowShown", "0")
    etree.SubElement(root, q("autoFilter"), ref=ref)
    columns = etree.SubElement(root, q("tableColumns"), count=str(len(table.columns)))
    for i, column in enumerate(table.columns, 1):
        etree.SubElement(columns, q("tableColumn"), id=str(i), name=column.name)
    style = old.find(q("tableStyleInfo")) if old is not None else None
    if style is None:
        style = etree.Element(q("tableStyleInfo"), name="TableStyleMedium2", showFirstColumn="0",
                              showLastColumn="0", showRowStripes="1", showColumnStripes="0")
    root.append(style)
    return to_xml(root)
