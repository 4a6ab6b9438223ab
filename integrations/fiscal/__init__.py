"""Fiscal documents: NF-e building, signing, validation and the invoicing service."""
