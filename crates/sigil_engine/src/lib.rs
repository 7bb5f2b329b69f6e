//! Compiles Sigma rules into matchers and evaluates them over events.
