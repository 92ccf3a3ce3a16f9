"""Printed tables of the insurance agencies: JSON, XLSX and PDF renderings of one Report."""
