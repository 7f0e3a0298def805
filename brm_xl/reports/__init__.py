"""Value-of-IT reports for agency heads and the CIO's portfolio view.
"""
