"""What-if policy simulation (docs/whatif.md): a region's stored month replayed under changed policy by the rules
live settlement uses, reported before and after; read only.

changes.py parses and checks CHANGES.yaml; source.py reads the month in bulk; policies.py picks each
settlement's row and terms under the changes; replay.py settles again; report.py sums; render.py prints text,
JSON and xlsx."""

from yibao.whatif.changes import Changes, load
from yibao.whatif.replay import whatif

__all__ = ["Changes", "load", "whatif"]
