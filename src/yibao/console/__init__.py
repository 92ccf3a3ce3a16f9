"""The web console (网上服务大厅): server-rendered pages for insured persons and staff (docs/console.md)."""
