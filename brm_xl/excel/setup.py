"""`brm-xl excel-setup`: the per-machine steps for the Excel side, each checked where this
machine can check it, one line each: [ok], [to do] with what to do, or [needs Windows]."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import xlwings

PINNED = "0.37.8"
# Defender's attack surface reduction rule "Block all Office applications from creating
# child processes": with it on, Excel cannot start Python for a button or a function
ASR_CHILD_PROCESSES = "d4f940ab-401b-4efc-aadc-ad5f3c50688a"
ASR_KEY = r"SOFTWARE\Policies\Microsoft\Windows Defender\Windows Defender Exploit Guard\ASR\Rules"


@dataclass(frozen=True)
class Check:
    status: str  # "ok", "to do", "needs Windows", "info"
    what: str
    advice: str = ""

    def line(self) -> str:
        return f"[{self.status}] {self.what}" + (f": {self.advice}" if self.advice else "")


def checks(workbook: Path | None = None, windows: bool | None = None) -> list[Check]:
    windows = sys.platform.startswith("win") if windows is None else windows
    out = [Check("ok" if xlwings.__version__ == PINNED else "to do",
                 f"xlwings {xlwings.__version__}",
                 "" if xlwings.__version__ == PINNED else f"pip install xlwings=={PINNED} (the "
                 "template carries that version's VBA)"),
           _pdf_check()]
    if not windows:
        for what in ("pywin32", "the xlwings DLL", "the Python that Excel starts",
                     "Defender's rule against Office starting processes",
                     "the workbook's Mark of the Web"):
            out.append(Check("needs Windows", what, "checked when excel-setup runs on the "
                             "Windows PC that opens the workbook"))
        return out
    out.append(_pywin32())
    out.append(_dll())
    out.append(_interpreter())
    out.append(_asr())
    if workbook is not None:
        out.append(_mark_of_the_web(workbook))
    else:
        out.append(Check("info", "the workbook's Mark of the Web", "run excel-setup WORKBOOK "
                         "to check whether Windows blocks its macros"))
    return out


def _pdf_check() -> Check:
    try:
        from brm_xl.reports.typst_pdf import compile_pdf

        compile_pdf('#set document(title: "check")\n= PDF\n')
        return Check("ok", "PDF reports (Typst)")
    except Exception as exc:
        return Check("to do", "PDF reports (Typst)", f"{exc}; pip install --force-reinstall "
                     "typst")


def _pywin32() -> Check:
    if importlib.util.find_spec("pythoncom") is None:
        return Check("to do", "pywin32 (xlwings needs it on Windows)", "pip install pywin32")
    return Check("ok", "pywin32")


def _dll() -> Check:
    folder = Path(xlwings.__file__).parent
    found = sorted(p.name for p in folder.glob("xlwings*.dll"))
    if not found:
        return Check("to do", "the xlwings DLL", f"none in {folder}; pip install --force-"
                     f"reinstall xlwings=={PINNED}")
    return Check("ok", "the xlwings DLL", ", ".join(found))


def _interpreter() -> Check:
    windowed = Path(sys.executable).with_name("pythonw.exe")
    if not windowed.exists():
        return Check("to do", "the Python that Excel starts", f"no pythonw.exe beside "
                     f"{sys.executable}; set Interpreter_Win in the workbook's xlwings.conf "
                     "sheet to the pythonw.exe your IT department installed")
    return Check("ok", "the Python that Excel starts", f"set Interpreter_Win to {windowed} if "
                 "it is not the first Python on PATH")


def _asr() -> Check:
    try:
        import winreg
    except ImportError:
        return Check("needs Windows", "Defender's rule against Office starting processes")
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, ASR_KEY) as key:  # type: ignore[attr-defined]
            for i in range(1024):
                name, value, _ = winreg.EnumValue(key, i)  # type: ignore[attr-defined]
                if name.casefold() == ASR_CHILD_PROCESSES and str(value) in ("1", "6"):
                    return Check("to do", "Defender's rule against Office starting processes",
                                 "it is on, so Excel cannot start Python: ask IT for an "
                                 f"exclusion for {sys.executable}")
    except OSError:
        pass
    return Check("ok", "Defender's rule against Office starting processes",
                 "not set by policy here")


def _mark_of_the_web(workbook: Path) -> Check:
    try:
        zone = Path(f"{workbook}:Zone.Identifier").read_text(errors="replace")
    except OSError:
        return Check("ok", f"{workbook.name} is not marked as from the internet")
    if "ZoneId=3" in zone or "ZoneId=4" in zone:
        return Check("to do", f"{workbook.name} came from the internet, so Excel blocks its "
                     "macros", "right-click it > Properties > Unblock, or keep it in a "
                     "Trusted Location")
    return Check("ok", f"{workbook.name} is not marked as from the internet")


def steps(workbook: Path | None = None) -> Iterator[str]:
    windows = sys.platform.startswith("win")
    yield "brm_xl in Excel: what this machine needs"
    yield ""
    for check in checks(workbook):
        yield check.line()
    yield f"[info] this Python is {sys.executable}"
    yield ""
    yield "1. Create a workbook from the template: brm-xl new chargeback.xlsm"
    yield "2. No xlwings add-in is needed: the template carries xlwings' standalone VBA."
    yield "3. Interpreter: in the workbook's xlwings.conf sheet, set Interpreter_Win to"
    yield f"   {sys.executable if windows else 'the pythonw.exe of the environment brm_xl is in'}"
    yield "   (left out, xlwings uses its own settings, then the first Python on PATH)."
    yield "4. Macros: the file must be trusted. If Excel shows 'Microsoft has blocked macros',"
    yield "   right-click the file > Properties > Unblock, or keep it in a Trusted Location"
    yield "   (File > Options > Trust Center > Trust Center Settings > Trusted Locations)."
    yield "5. Open the workbook, enable content, and press Refresh on the Instructions sheet."
    yield "   The BRM functions (=BRM_CHARGES(\"DOT\", \"FY2026\")) are then ready; their help"
    yield "   appears in the function wizard under the BRM category."
    yield "6. Email: Settings smtp_host and smtp_port; the password goes in the environment"
    yield "   variable BRM_SMTP_PASSWORD or the Windows Credential Manager (keyring set brm-xl USER)."
