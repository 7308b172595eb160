"""The analysis area: which behaviours move the member's recovery (schema ``analysis``)."""
