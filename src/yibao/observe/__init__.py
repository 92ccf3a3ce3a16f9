"""What an operator watches the platform and the hospital by: Prometheus metrics (metrics.py), one JSON log line
per event (logs.py), the HTTP middleware that times every request and carries its request id (http.py), and the
masking every log line goes through (masking.py). Plumbing beside the business: nothing here knows a table."""
