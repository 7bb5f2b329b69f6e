//! Event sources: EVTX, JSON, JSONL and stdin readers producing flat Sigma events.
