"""The workbook as a package of parts: read tables fast with their cell addresses, write output
tables atomically under a lock, leave every other byte as it was.
"""
