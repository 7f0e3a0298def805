"""The data contract: every input table, its columns and kinds, the Settings, how a cell's text
is typed and checked, and the loaded inputs every computation receives.
"""
