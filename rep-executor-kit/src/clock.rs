//! Time as the kit reads it: event timestamps from the wall clock, and every duration and
//! deadline (timeouts, backoffs, the cancellation grace, `duration_ms`) from tokio's clock, so
//! that a test with tokio's paused clock sees them exactly.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

/// Now, as RFC 3339 UTC with nanosecond precision trimmed by `time` (e.g.
/// `2026-11-20T22:58:45.123456789Z`).
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Milliseconds since `since` on tokio's clock, saturating.
pub(crate) fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
