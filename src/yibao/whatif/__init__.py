"""What-if policy simulation (docs/whatif.md): a region's stored month, or consecutive months, replayed under
changed policy by the rules live settlement uses, reported before and after; read only.

changes.py parses and checks CHANGES.yaml (dataset_parts.py its catalog rows and region settings, by the
dataset's own validation); source.py reads the period in bulk; policies.py picks each settlement's row and terms
under the changes; resplit.py splits again the fee lines of changed catalog items; replay.py settles again;
report.py sums and breaks down; render.py prints text, JSON and xlsx."""

from yibao.whatif.changes import Changes, load
from yibao.whatif.replay import whatif

__all__ = ["Changes", "load", "whatif"]
