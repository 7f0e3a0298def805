"""Rebuild workbooks/brm_template.xlsm and the generated VBA in workbooks/vba/.

Run after changing brm_xl/excel/functions.py or the VBA sources:
    python workbooks/build_template.py
"""

from brm_xl.excel import vba_gen
from brm_xl.excel.template_build import SOURCES, build

if __name__ == "__main__":
    (SOURCES / "xlwings_udfs.bas").write_text(vba_gen.udf_wrappers())
    (SOURCES / "BrmSetup.bas").write_text(vba_gen.registration())
    print(f"built {build()}")
