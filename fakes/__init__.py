"""Local fakes of external services, used in development and tests."""
