"""The seller's bank: OFX statements."""
