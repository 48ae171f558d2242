"""Population dry runs over Bulk FHIR exports: read, group by patient, evaluate, report.

Layers, lowest first: files (find NDJSON, read it in blocks of whole lines) -> route (which
patient a line belongs to, what was skipped) -> partition (group lines by patient on disk) and
medications (the export's Medication resources by id) -> patient (the hook's pure pipeline for
one patient, as one CSV row) -> summary (what the report counts) -> html (the report) ->
local / spark (engines) -> run (the CLI's entry).
"""
