//! Knowledge tables loaded from data/: ATT&CK, Windows event schemas, logsource routing and field mappings.
