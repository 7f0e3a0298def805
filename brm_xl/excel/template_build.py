"""Build the template workbook `workbooks/brm_template.xlsm` from sources in the repository.

Its VBA project is assembled from text: `workbooks/vba/*.bas|cls` (ours: the buttons'
RunPython subs, the UDF wrappers xlwings would generate, their registration) and the
pinned xlwings' own standalone module and Dictionary class, read from the installed
xlwings package. Rebuilding from the same sources gives the same workbook.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import xlwings

from brm_xl.app.template import build_workbook
from brm_xl.contract import tables as C
from brm_xl.excel.vba_gen import UDF_MODULE
from brm_xl.excel.vbaproject import Module, vba_project

WORKBOOKS = Path(__file__).resolve().parent.parent.parent / "workbooks"
SOURCES = WORKBOOKS / "vba"
TEMPLATE = WORKBOOKS / "brm_template.xlsm"
XLWINGS_DIR = Path(xlwings.__file__).parent
BUTTONS = [
    ("BrmRefresh", "Refresh", "Recompute charges, summaries, follow-ups and health"),
    ("BrmCheck", "Check", "List every problem in a Problems sheet, linked to its cell"),
    ("BrmReports", "Make reports", "Value reports for every agency, and the portfolio"),
    ("BrmEmailDrafts", "Email drafts", "One draft per agency head, to review in Outlook"),
    ("BrmSendEmails", "Send emails", "Asks first, then sends through Settings smtp_host"),
    ("BrmCloseMonth", "Close month", "Asks first, then publishes the month's bills"),
]
# Only what brm_xl needs: a blank Interpreter_Win or PYTHONPATH row would override the
# user's own xlwings settings (their xlwings.conf file, the add-in's ribbon) with nothing
XLWINGS_CONF = [
    ("UDF Modules", UDF_MODULE),
    ("Debug UDFs", False),
    ("Use UDF Server", False),
    ("Show Console", False),
]


def template_path() -> Path:
    """The shipped template: in the source tree, or installed with the package."""
    if TEMPLATE.exists():
        return TEMPLATE
    from importlib.resources import files

    return Path(str(files("brm_xl_workbooks") / "brm_template.xlsm"))


def sheet_names() -> list[str]:
    return ["Instructions", *[spec.name for spec in C.INPUT_TABLES], "Settings", "xlwings.conf"]


def xlwings_sources() -> dict[str, str]:
    """The pinned xlwings' standalone VBA: its module (shipped as text) and Dictionary class
    (shipped inside its standalone quickstart workbook), and that project's ID and
    protection values, which belong together."""
    import olefile
    from oletools.olevba import VBA_Parser

    standalone = XLWINGS_DIR / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(standalone) as z:
        project = z.read("xl/vbaProject.bin")
    parser = VBA_Parser(str(standalone), data=project)
    dictionary = next(code for _f, _s, name, code in parser.extract_macros()
                      if name == "Dictionary.cls")
    ole = olefile.OleFileIO(project)
    lines = ole.openstream("PROJECT").read().decode("cp1252").splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return {
        "xlwings": (XLWINGS_DIR / "xlwings.bas").read_text(encoding="cp1252"),
        "Dictionary": dictionary,
        "ID": values["ID"].strip('"'),
        "CMG": values["CMG"].strip('"'), "DPB": values["DPB"].strip('"'),
        "GC": values["GC"].strip('"'),
    }


def modules() -> tuple[list[Module], dict[str, str]]:
    xw = xlwings_sources()
    sheet_module = (SOURCES / "Sheet.cls.template").read_text()
    mods = [Module("ThisWorkbook", (SOURCES / "ThisWorkbook.cls").read_text(), "document")]
    mods += [Module(f"Sheet{i}", sheet_module.format(name=f"Sheet{i}"), "document")
             for i in range(1, len(sheet_names()) + 1)]
    mods += [
        Module("xlwings", xw["xlwings"], "module"),
        Module("Dictionary", xw["Dictionary"], "class"),
        Module("BrmMacros", (SOURCES / "BrmMacros.bas").read_text(), "module"),
        Module("BrmSetup", (SOURCES / "BrmSetup.bas").read_text(), "module"),
        Module("xlwings_udfs", (SOURCES / "xlwings_udfs.bas").read_text(), "module"),
    ]
    return mods, xw


def build(target: Path = TEMPLATE) -> Path:
    mods, xw = modules()
    binary = vba_project(mods, {k: xw[k] for k in ("CMG", "DPB", "GC")}, xw["ID"])
    with tempfile.TemporaryDirectory() as tmp:
        bin_path = Path(tmp) / "vbaProject.bin"
        bin_path.write_bytes(binary)
        build_workbook(target, extras=lambda book, sheets: _extras(book, sheets, bin_path))
    return target


def _extras(book: Any, sheets: dict[str, Any], vba: Path) -> None:
    book.add_vba_project(str(vba))
    book.set_vba_name("ThisWorkbook")
    conf = book.add_worksheet("xlwings.conf")
    for i, (key, value) in enumerate(XLWINGS_CONF):
        conf.write(i, 0, key)
        if isinstance(value, bool):
            conf.write_boolean(i, 1, value)
        else:
            conf.write_string(i, 1, value)
    conf.set_column(0, 0, 22)
    conf.set_column(1, 1, 60)
    sheets["xlwings.conf"] = conf
    for i, name in enumerate(sheet_names(), 1):
        sheets[name].set_vba_name(f"Sheet{i}")
    home = sheets["Instructions"]
    home.set_column(0, 0, 92)
    home.set_column(1, 1, 18)
    home.set_column(2, 2, 52)
    home.write_string(0, 1, "Buttons", book.add_format({"bold": True, "font_size": 12}))
    for i, (macro, caption, what) in enumerate(BUTTONS):
        home.insert_button(1 + 2 * i, 1, {"macro": macro, "caption": caption, "width": 120,
                                          "height": 28})
        home.write_string(1 + 2 * i, 2, what)
