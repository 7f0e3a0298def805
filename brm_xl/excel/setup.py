"""`brm-xl excel-setup`: the per-machine steps for the Excel side, checked where possible."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import xlwings

PINNED = "0.37.8"


def steps() -> Iterator[str]:
    ok, no = "[ok]", "[to do]"
    windows = sys.platform.startswith("win")
    yield "brm_xl in Excel: what this machine needs"
    yield ""
    yield (f"{ok if xlwings.__version__ == PINNED else no} xlwings {xlwings.__version__} "
           f"(the template's VBA is xlwings {PINNED}'s standalone module)")
    has_pywin32 = importlib.util.find_spec("pythoncom") is not None
    if windows:
        yield (f"{ok if has_pywin32 else no} pywin32 (needed by xlwings on Windows): "
               + ("installed" if has_pywin32 else "pip install pywin32"))
    else:
        yield "[info] not Windows: the buttons and functions run in Excel for Windows only; the"
        yield "       same commands run here from the command line (brm-xl refresh, report, ...)"
    yield f"[info] this Python is {sys.executable}"
    yield ""
    yield "1. Create a workbook from the template: brm-xl new chargeback.xlsm"
    yield "2. No xlwings add-in is needed: the template carries xlwings' standalone VBA."
    yield "3. Interpreter: in the workbook's xlwings.conf sheet, set Interpreter_Win to"
    yield f"   {sys.executable if windows else 'the pythonw.exe of the environment brm_xl is in'}"
    yield "   (blank uses the first python on PATH)."
    yield "4. Macros: the file must be trusted. If Excel shows 'Microsoft has blocked macros',"
    yield "   right-click the file > Properties > Unblock, or keep it in a Trusted Location"
    yield "   (File > Options > Trust Center > Trust Center Settings > Trusted Locations)."
    yield "5. Open the workbook, enable content, and press Refresh on the Instructions sheet."
    yield "   The BRM functions (=BRM_CHARGES(\"DOT\", \"FY2026\")) are then ready; their help"
    yield "   appears in the function wizard under the BRM category."
    yield "6. Email: Settings smtp_host and smtp_port; the password goes in the environment"
    yield "   variable BRM_SMTP_PASSWORD or the Windows Credential Manager (keyring set brm-xl USER)."
