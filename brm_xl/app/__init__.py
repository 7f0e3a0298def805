"""The shell's jobs: what a person asks brm_xl to do (refresh, close, journal, import, demo,
the Python API), each reading through the pipeline and writing the workbook or files.
Nothing below imports this package.
"""
