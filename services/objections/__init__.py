"""Objections (异议): an enterprise disputes a record, the ticket is routed to a department with a
due date in working days, resolved through ingestion, and each event produces a notification."""
