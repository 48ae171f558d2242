"""Population dry runs over Bulk FHIR exports: read, group by patient, evaluate, report.

Layers, lowest first: files (find and read NDJSON) -> partition (group lines by patient on
disk) -> patient (the hook's pure pipeline for one patient, as one CSV row) -> summary (what
the report counts) -> html (the report) -> local / spark (engines) -> run (the CLI's entry).
"""
