//! Market time: the one place that turns instants into market days and market days into
//! instants, in the market's time zone (`Africa/Casablanca` by default).
//!
//! Every other module asks here, so a sale, a filter, a statement period and a rollup all
//! agree on which day an instant belongs to, including on days a clock change makes 23 or
//! 25 hours long, or starts at 01:00 because midnight does not exist.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::ops::Range;

/// The market day `instant` falls in: 23:30 UTC on 31 December is already 1 January in
/// Casablanca (UTC+1), except during Ramadan when Morocco keeps UTC+0.
pub fn market_date(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// The first instant of the market day `date`: local midnight, or, when a clock change
/// skips midnight, the first instant after the jump (01:00 for a 00:00 → 01:00 change).
/// When midnight happens twice, the first.
pub fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    first_instant_at_or_after(date.and_time(NaiveTime::MIN), tz)
}

/// The first instant after the market day `date` (the start of the next day): the end,
/// excluded, of the day's range.
pub fn day_end(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    match date.succ_opt() {
        Some(next) => day_start(next, tz),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The instants `[start of first, start of the day after last)` of the market days `first`
/// to `last`, both included. Empty when `last` is before `first`.
pub fn days_range(first: NaiveDate, last: NaiveDate, tz: Tz) -> Range<DateTime<Utc>> {
    let start = day_start(first, tz);
    let end = day_end(last, tz).max(start);
    start..end
}

/// The instant the market's clocks show `time` on `date`; when a clock change skips that
/// time, the first instant after the jump; when it happens twice, the first.
pub fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    first_instant_at_or_after(date.and_time(time), tz)
}

/// The first instant whose local wall-clock time is `local` or later.
fn first_instant_at_or_after(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return t.with_timezone(&Utc);
    }
    // `local` falls in a gap. Offsets lie within -12 h and +14 h, so the answer lies in
    // this window; there the local clock, which never shows `local`, passes it once and
    // does not come back below it (a clock set back across `local` would have shown it).
    // Offsets and changes are whole seconds: search the seconds.
    let naive_utc = Utc.from_utc_datetime(&local);
    let (mut lo, mut hi) = (
        naive_utc - Duration::hours(15),
        naive_utc + Duration::hours(13),
    );
    let reached = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local() >= local;
    while (hi - lo).num_seconds() > 1 {
        let mid = lo + Duration::seconds((hi - lo).num_seconds() / 2);
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use chrono_tz::{
        Africa::Casablanca, America::Havana, America::Santiago, Asia::Beirut, Pacific::Apia,
    };

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn the_market_date_is_reckoned_in_casablanca_not_utc() {
        // Winter: Morocco is UTC+1, so the market's day starts at 23:00 UTC.
        let new_year_eve = utc(2025, 12, 31, 23, 30);
        assert_eq!(new_year_eve.date_naive(), date(2025, 12, 31));
        assert_eq!(market_date(new_year_eve, Casablanca), date(2026, 1, 1));
        assert_eq!(
            market_date(utc(2025, 12, 31, 22, 59), Casablanca),
            date(2025, 12, 31)
        );
        assert_eq!(
            day_start(date(2026, 1, 1), Casablanca),
            utc(2025, 12, 31, 23, 0)
        );
    }

    /// Morocco keeps UTC+0 during Ramadan: in 2026 its clocks go back from 03:00 to 02:00
    /// on 15 February and forward from 02:00 to 03:00 on 22 March.
    #[test]
    fn ramadan_clock_changes_make_25_and_23_hour_days() {
        // Before Ramadan, UTC+1; during, UTC+0; after, UTC+1 again.
        assert_eq!(
            day_start(date(2026, 2, 14), Casablanca),
            utc(2026, 2, 13, 23, 0)
        );
        assert_eq!(
            day_start(date(2026, 2, 15), Casablanca),
            utc(2026, 2, 14, 23, 0)
        );
        assert_eq!(
            day_start(date(2026, 2, 16), Casablanca),
            utc(2026, 2, 16, 0, 0)
        );
        assert_eq!(
            day_start(date(2026, 3, 22), Casablanca),
            utc(2026, 3, 22, 0, 0)
        );
        assert_eq!(
            day_start(date(2026, 3, 23), Casablanca),
            utc(2026, 3, 22, 23, 0)
        );

        let first_day = days_range(date(2026, 2, 15), date(2026, 2, 15), Casablanca);
        assert_eq!(first_day.end - first_day.start, Duration::hours(25));
        let last_day = days_range(date(2026, 3, 22), date(2026, 3, 22), Casablanca);
        assert_eq!(last_day.end - last_day.start, Duration::hours(23));

        // 23:30 UTC is the next day before Ramadan, the same day during it.
        assert_eq!(
            market_date(utc(2026, 2, 13, 23, 30), Casablanca),
            date(2026, 2, 14)
        );
        assert_eq!(
            market_date(utc(2026, 3, 1, 23, 30), Casablanca),
            date(2026, 3, 1)
        );
        assert_eq!(
            market_date(utc(2026, 3, 22, 23, 30), Casablanca),
            date(2026, 3, 23)
        );

        // Every instant of a range maps back to a day of the range, and the days tile.
        for day in date(2026, 2, 10).iter_days().take(45) {
            let range = days_range(day, day, Casablanca);
            assert_eq!(market_date(range.start, Casablanca), day);
            assert_eq!(
                market_date(range.end - Duration::seconds(1), Casablanca),
                day
            );
            assert_eq!(range.end, day_start(day.succ_opt().unwrap(), Casablanca));
        }
    }

    /// Chile moves its clocks from 00:00 to 01:00 on the first Sunday of September: that
    /// day has no midnight and starts at 01:00 local time (04:00 UTC).
    #[test]
    fn a_day_without_midnight_starts_when_the_clocks_jump() {
        let sunday = date(2026, 9, 6);
        assert!(
            Santiago
                .from_local_datetime(&sunday.and_time(NaiveTime::MIN))
                .earliest()
                .is_none()
        );
        let start = day_start(sunday, Santiago);
        assert_eq!(start, utc(2026, 9, 6, 4, 0));
        assert_eq!(start.with_timezone(&Santiago).hour(), 1);
        assert_eq!(market_date(start, Santiago), sunday);
        assert_eq!(
            market_date(start - Duration::seconds(1), Santiago),
            date(2026, 9, 5)
        );
        let saturday = days_range(date(2026, 9, 5), date(2026, 9, 5), Santiago);
        assert_eq!(saturday.end, start);
        assert_eq!(saturday.end - saturday.start, Duration::hours(24));
        let sunday_range = days_range(sunday, sunday, Santiago);
        assert_eq!(sunday_range.end - sunday_range.start, Duration::hours(23));

        // Lebanon did the same at the end of March (here 2024-03-31, 00:00 → 01:00).
        let beirut = day_start(date(2024, 3, 31), Beirut);
        assert_eq!(beirut, utc(2024, 3, 30, 22, 0));
        assert_eq!(beirut.with_timezone(&Beirut).hour(), 1);

        // A wall-clock time inside the jump is read as the first instant after it.
        assert_eq!(
            local_instant(sunday, NaiveTime::from_hms_opt(0, 30, 0).unwrap(), Santiago),
            start
        );
    }

    /// When clocks go back across midnight, the day starts at the first midnight: Cuba
    /// sets them back from 01:00 to 00:00 on the first Sunday of November.
    #[test]
    fn a_day_with_two_midnights_starts_at_the_first() {
        let sunday = date(2026, 11, 1);
        assert_eq!(day_start(sunday, Havana), utc(2026, 11, 1, 4, 0));
        let saturday = days_range(date(2026, 10, 31), date(2026, 10, 31), Havana);
        assert_eq!(saturday.end - saturday.start, Duration::hours(24));
        let sunday_range = days_range(sunday, sunday, Havana);
        assert_eq!(sunday_range.end - sunday_range.start, Duration::hours(25));
    }

    /// Samoa skipped 30 December 2011 altogether: that day is an empty range.
    #[test]
    fn a_day_that_never_happened_is_empty() {
        let skipped = days_range(date(2011, 12, 30), date(2011, 12, 30), Apia);
        assert!(skipped.is_empty());
        assert_eq!(skipped.start, day_start(date(2011, 12, 31), Apia));
        let reversed = days_range(date(2026, 1, 2), date(2026, 1, 1), Casablanca);
        assert!(reversed.is_empty());
    }
}
