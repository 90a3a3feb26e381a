"""Sections the Compare and Results pages draw (blind mode, the leakage check, the knowledge-update demo)."""
