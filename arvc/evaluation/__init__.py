"""Scores for conversions: speaker similarity, pitch fidelity, intelligibility (CER), predicted quality (DNSMOS)."""
