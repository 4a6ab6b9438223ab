"""Pure business rules and the typed contracts shared by every layer. No I/O here."""
