"""The closed books as evidence: the seal records of every close (what each published, chained)
and the office's ledger beside the workbook. Read at every load; only the shell's close
writes them.
"""
