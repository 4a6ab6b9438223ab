"""SEFAZ web services (NF-e 4.00) over SOAP 1.2."""
