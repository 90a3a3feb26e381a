"""The matched comparison: the answer paths and their roles, scoring, batch runs, the run store, CSV export, the leakage check, blind mode, the knowledge-update demo."""
