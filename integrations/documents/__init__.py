"""Documents a seller keeps and hands out: NF-e XML, DANFE PDF, event XML."""
