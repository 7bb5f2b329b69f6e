//! Rule checking: walks files, parses, runs cross-rule validations, reports diagnostics.
