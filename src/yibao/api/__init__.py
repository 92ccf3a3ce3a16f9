"""The JSON API for insured persons and agency staff (OpenAPI at /docs), beside the 两定 gateway."""
