"""Process configuration shared by every process: settings, Temporal wiring (data
converter, codec, search attributes) and logging. Imported by the composition roots
(`api`, `workers`, `retaguarda`); never by `domain`, `workflows`, `db` or `integrations`."""
