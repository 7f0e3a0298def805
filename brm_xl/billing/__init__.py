"""The money: usage priced by the rate card, adjustments, disputes and vendor credits on bills,
budgets, rate setting, what a close publishes and the journal it posts. Pure computations
over loaded inputs: no file, no lock, no clock.
"""
