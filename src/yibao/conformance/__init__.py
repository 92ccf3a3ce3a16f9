"""The conformance kit for HIS and pharmacy-POS vendors (`yibao conformance run`, docs/conformance.md).

Scenarios are readable YAML documents (scenarios/*.yaml): a sequence of signed messages, each with its input and
the figures and codes its answer must carry. A profile names the target's test institutions, their secrets and
test persons, so the kit runs against any platform that speaks the national interface, yibao or not. It speaks
the wire only, through the HIS-side client (yibao.client)."""
