//! Rule catalog: enrichment, ATT&CK and event coverage, stages, indicators with corpus counts, search.
