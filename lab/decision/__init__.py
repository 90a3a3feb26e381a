"""From measurements to a decision: the guide's words, the Decide logic, cost of ownership, charts, the stakeholder brief."""
