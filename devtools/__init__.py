"""Code run from a checkout only, never packaged: `make demo` (``devtools.demo``) and the throw-away Tansu broker of
the Kafka tests and the bench (``devtools.tansu``), the simulator's events as stored records for the disclosure bench
and tests (``devtools.records``). Not in the wheel; nothing under ``services`` imports it."""
