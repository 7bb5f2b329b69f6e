//! Web catalog: axum server, server-rendered pages, JSON API and static export.
