"""PySide6 only: presents core, holds no business logic."""
