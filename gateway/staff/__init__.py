"""The staff console: pages for the supplier's own staff, by their roles (see pages.py)."""
