"""In Excel: worksheet functions (BRM_*) answered from a cached model, macro buttons over the
shell's jobs, the add-in and template with its VBA. Kept thin: everything under it is tested
without Excel.
"""
