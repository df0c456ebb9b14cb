"""Intake: raw files → validated, typed tables free of personal data.

Entry point: :func:`evalkit.intake.load.load_study` (also ``evalkit.load_study``).
"""
