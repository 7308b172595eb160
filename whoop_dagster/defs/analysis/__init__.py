"""The analysis area: which behaviours move the member's recovery (schema ``analysis``).

numpy, pandas, scipy and matplotlib are imported only inside the step.
"""
