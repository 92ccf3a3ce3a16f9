"""Pure business rules: functions over plain values, no I/O, no database, no framework."""
