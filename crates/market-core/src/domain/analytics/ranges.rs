//! Checked date ranges, the ranges they are compared with, and how a range is cut into
//! the periods the rollups keep.

use super::Comparison;
use crate::domain::rollups::Grain;
use crate::error::{AppError, AppResult, UserErrorCode};
use chrono::{Duration, Months, NaiveDate};

/// Longest range an analytic accepts, in years.
pub const MAX_RANGE_YEARS: u32 = 10;

/// A range of whole market-local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// Checks a range: `to` not before `from`, and at most ten years long
    /// (`INVALID_RANGE` otherwise).
    pub fn new(from: NaiveDate, to: NaiveDate) -> AppResult<Self> {
        let invalid = |message: String| AppError::BadInput {
            code: UserErrorCode::InvalidRange.as_str(),
            message,
        };
        if to < from {
            return Err(invalid(format!(
                "The range ends ({to}) before it starts ({from})."
            )));
        }
        let limit = from
            .checked_add_months(Months::new(12 * MAX_RANGE_YEARS))
            .ok_or_else(|| invalid(format!("{from} is out of range.")))?;
        if to >= limit {
            return Err(invalid(format!(
                "A range covers at most {MAX_RANGE_YEARS} years ({from} to {to} is longer)."
            )));
        }
        Ok(Self { from, to })
    }

    /// The whole calendar year `year`.
    pub fn year(year: i32) -> AppResult<Self> {
        let day = |m, d| {
            NaiveDate::from_ymd_opt(year, m, d)
                .and_then(|d| crate::domain::input::check_date(d).ok())
        };
        match (day(1, 1), day(12, 31)) {
            (Some(from), Some(to)) => Ok(Self { from, to }),
            _ => Err(AppError::BadInput {
                code: UserErrorCode::InvalidRange.as_str(),
                message: format!("{year} is not a year the market can report on."),
            }),
        }
    }

    /// Number of days in the range.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The range `comparison` compares it with, if any.
    pub fn compared(&self, comparison: Comparison) -> Option<DateRange> {
        match comparison {
            Comparison::None => None,
            Comparison::PreviousPeriod => Some(DateRange {
                from: self.from - Duration::days(self.days()),
                to: self.from - Duration::days(1),
            }),
            Comparison::PreviousYear => {
                let back = |d: NaiveDate| d.checked_sub_months(Months::new(12));
                Some(DateRange {
                    from: back(self.from)?,
                    to: back(self.to)?,
                })
            }
        }
    }
}

/// Cuts `[from, to]` into disjoint periods that cover it exactly, as coarse as possible:
/// whole years, then whole months, then whole ISO weeks, and days only at the edges (at
/// most six on each side of a run of weeks).
pub fn decompose(from: NaiveDate, to: NaiveDate) -> Vec<(Grain, NaiveDate)> {
    let mut pieces = Vec::new();
    let mut d = from;
    let fits = |grain: Grain, d: NaiveDate| grain.start(d) == d && grain.end(d) <= to;
    while d <= to {
        if fits(Grain::Year, d) {
            pieces.push((Grain::Year, d));
            d = Grain::Year.next(d);
            continue;
        }
        if fits(Grain::Month, d) {
            pieces.push((Grain::Month, d));
            d = Grain::Month.next(d);
            continue;
        }
        // Up to the next month that will be taken whole (or the end): weeks, then days.
        let next_month = Grain::Month.next(Grain::Month.start(d));
        let gap_end = if Grain::Month.end(next_month) <= to {
            next_month.pred_opt().unwrap_or(to)
        } else {
            to
        };
        while d <= gap_end {
            let week_end = d + Duration::days(6);
            if Grain::Week.start(d) == d && week_end <= gap_end {
                pieces.push((Grain::Week, d));
                d = week_end + Duration::days(1);
            } else {
                pieces.push((Grain::Day, d));
                d += Duration::days(1);
            }
        }
    }
    pieces
}

/// Runs of consecutive periods of one grain, as `(grain, first start, last start)`.
pub(super) fn runs(mut pieces: Vec<(Grain, NaiveDate)>) -> Vec<(Grain, NaiveDate, NaiveDate)> {
    pieces.sort();
    pieces.dedup();
    let mut out: Vec<(Grain, NaiveDate, NaiveDate)> = Vec::new();
    for (grain, start) in pieces {
        match out.last_mut() {
            Some((g, _, last)) if *g == grain && grain.next(*last) == start => *last = start,
            _ => out.push((grain, start, start)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Every day of the range is covered by exactly one piece.
    fn check_cover(from: NaiveDate, to: NaiveDate) -> Vec<(Grain, NaiveDate)> {
        let pieces = decompose(from, to);
        let mut covered = Vec::new();
        for (grain, start) in &pieces {
            assert_eq!(grain.start(*start), *start);
            let mut d = *start;
            while d <= grain.end(*start) {
                covered.push(d);
                d += Duration::days(1);
            }
        }
        let expected: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        assert_eq!(covered, expected, "{from}..{to}: {pieces:?}");
        pieces
    }

    #[test]
    fn a_range_is_cut_into_years_months_weeks_and_edge_days() {
        let full = check_cover(day(2024, 1, 1), day(2024, 12, 31));
        assert_eq!(full, vec![(Grain::Year, day(2024, 1, 1))]);
        let shifted = check_cover(day(2024, 3, 15), day(2025, 3, 14));
        let days = shifted.iter().filter(|(g, _)| *g == Grain::Day).count();
        assert!(days <= 24, "{shifted:?}");
        assert_eq!(
            shifted.iter().filter(|(g, _)| *g == Grain::Month).count(),
            11
        );
        for (from, to) in [
            (day(2023, 12, 31), day(2024, 1, 1)),
            (day(2024, 2, 29), day(2024, 3, 31)),
            (day(2020, 1, 2), day(2027, 12, 30)),
            (day(2024, 1, 29), day(2024, 2, 4)),
            (day(2025, 6, 2), day(2025, 6, 2)),
        ] {
            check_cover(from, to);
        }
    }

    #[test]
    fn comparison_ranges_follow_the_calendar() {
        let r = DateRange::new(day(2024, 2, 10), day(2024, 2, 29)).unwrap();
        assert_eq!(
            r.compared(Comparison::PreviousPeriod),
            Some(DateRange {
                from: day(2024, 1, 21),
                to: day(2024, 2, 9)
            })
        );
        assert_eq!(
            r.compared(Comparison::PreviousYear),
            Some(DateRange {
                from: day(2023, 2, 10),
                to: day(2023, 2, 28)
            })
        );
        assert!(DateRange::new(day(2024, 1, 2), day(2024, 1, 1)).is_err());
        assert!(DateRange::new(day(2014, 1, 1), day(2023, 12, 31)).is_ok());
        assert!(DateRange::new(day(2014, 1, 1), day(2024, 1, 1)).is_err());
    }
}
