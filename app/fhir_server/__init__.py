"""A small read-only FHIR R4 server over a folder of bundles, for trying the service offline."""
