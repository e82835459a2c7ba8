//! `GET /payouts/{id}.csv`: one payout statement as CSV, for the bank transfer and the
//! cooperative's books. Same bearer token and the same rule as the API: managers and the
//! cooperative's own members only.

use crate::AppState;
use crate::error::{AppError, AppResult, codes};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payouts::statement_number;
use crate::http::auth::viewer_from_headers;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use market_core::domain::enums::{PayoutAdjustmentKind, PayoutStatus};
use market_core::domain::payouts::AdjustmentRow;
use market_core::domain::payouts::{self, SettledLine};
use market_core::domain::reads;
use market_core::models::{cooperative, payout_statement};
use serde_json::json;

/// The columns of the export, one row per settled line (`SALE`), per adjustment
/// (`REFUND`, `CARRIED_BALANCE`) and a final `TOTAL`. The `net` column of all rows but
/// `TOTAL` adds up to the `TOTAL` row's, which is the statement's net.
pub const CSV_HEADER: [&str; 17] = [
    "statement",
    "cooperative",
    "payout_account",
    "period_start",
    "period_end",
    "due_on",
    "status",
    "record",
    "date",
    "order_number",
    "sku",
    "description",
    "quantity",
    "gross",
    "commission_rate",
    "commission",
    "net",
];

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "no such payout statement",
    )
}

/// The CSV of one statement: 401 without a valid token, 403 for anyone but managers and
/// the cooperative's members, 404 for an unknown statement; errors are JSON like the API's.
pub async fn statement_csv(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let viewer = match viewer_from_headers(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(e) => {
            let status = if e.code() == codes::SERVICE_UNAVAILABLE {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            return error(status, e.code(), &e.message());
        }
    };
    if let Err(e) = viewer.statement_scope() {
        return match e {
            AppError::Unauthenticated => error(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                &e.message(),
            ),
            _ => error(StatusCode::FORBIDDEN, codes::FORBIDDEN, &e.message()),
        };
    }
    let Some(id) = file
        .strip_suffix(".csv")
        .and_then(|gid| ids::decode::<i32>(gid, NodeType::PayoutStatement).ok())
    else {
        return not_found();
    };
    let result = async {
        let Some(statement) = reads::payout_statement(&state.db, id).await? else {
            return Ok(None);
        };
        viewer.require_statement_of(statement.cooperative_id)?;
        let coop = reads::cooperative(&state.db, statement.cooperative_id)
            .await?
            .ok_or_else(|| AppError::Internal("statement without cooperative".into()))?;
        let lines = payouts::statement_lines(&state.db, statement.id).await?;
        let adjustments = payouts::adjustment_rows(&state.db, vec![statement.id]).await?;
        let csv = render(
            &statement,
            &coop,
            &lines,
            &adjustments,
            state.config.market_timezone,
        )?;
        Ok::<_, AppError>(Some((statement, coop, csv)))
    }
    .await;
    match result {
        Ok(Some((statement, coop, csv))) => {
            let filename = format!(
                "payout-{}-{}-{}.csv",
                coop.slug, statement.period_start, statement.period_end
            );
            let disposition =
                HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
            (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/csv; charset=utf-8"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    // Bank details: never kept by shared caches.
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    ),
                ],
                csv,
            )
                .into_response()
        }
        Ok(None) => not_found(),
        Err(e @ AppError::Forbidden(_)) => {
            error(StatusCode::FORBIDDEN, codes::FORBIDDEN, &e.message())
        }
        Err(e) => {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            // The cause goes to the log; the client gets the generic message only.
            e.log();
            error(status, e.code(), &e.message())
        }
    }
}

/// Centimes as a decimal string with two places ("-12.50").
fn amount(centimes: i64) -> String {
    rust_decimal::Decimal::new(centimes, 2).to_string()
}

/// Text a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading
/// apostrophe: product names and reasons are typed by people, and the file is opened in
/// spreadsheets.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Writes the CSV of a statement (RFC 4180: comma-separated, quoted where needed, CRLF).
pub fn render(
    statement: &payout_statement::Model,
    coop: &cooperative::Model,
    lines: &[SettledLine],
    adjustments: &[AdjustmentRow],
    tz: Tz,
) -> AppResult<String> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let number = statement_number(statement.id);
    let head = [
        number.clone(),
        text(&coop.name),
        coop.payout_account.clone().unwrap_or_default(),
        statement.period_start.to_string(),
        statement.period_end.to_string(),
        statement.due_on.to_string(),
        statement.status.as_str().to_owned(),
    ];
    let failed = |e: csv::Error| AppError::internal_caused("writing CSV", e);
    out.write_record(CSV_HEADER).map_err(failed)?;
    let mut write = |record: [String; 10]| {
        out.write_record(head.iter().cloned().chain(record))
            .map_err(failed)
    };
    for l in lines {
        let line = &l.line;
        write([
            "SALE".into(),
            l.paid_at
                .map(|t| market_core::domain::market_time::market_date(t, tz).to_string())
                .unwrap_or_default(),
            l.order_number.clone(),
            text(&line.sku),
            text(&line.product_name),
            line.quantity.to_string(),
            amount(payouts::line_gross(line)),
            rust_decimal::Decimal::new(line.commission_rate_bp.into(), 4).to_string(),
            amount(payouts::commission_cents(
                payouts::line_gross(line),
                line.commission_rate_bp,
            )),
            amount(payouts::line_net(line)),
        ])?;
    }
    for a in adjustments {
        let record = match a.adjustment.kind {
            PayoutAdjustmentKind::Refund => "REFUND",
            PayoutAdjustmentKind::CarriedBalance => "CARRIED_BALANCE",
        };
        write([
            record.into(),
            market_core::domain::market_time::market_date(a.adjustment.created_at, tz).to_string(),
            a.order_number.clone().unwrap_or_default(),
            text(a.sku.as_deref().unwrap_or_default()),
            text(&a.adjustment.reason),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            amount(a.adjustment.amount_cents),
        ])?;
    }
    let summary = match (statement.status, statement.paid_on) {
        (PayoutStatus::Paid, Some(day)) => format!(
            "Paid on {day}, reference {}",
            statement.bank_reference.as_deref().unwrap_or("")
        ),
        (PayoutStatus::CarriedForward, _) => {
            "Negative net carried into the next statement: nothing to pay".to_owned()
        }
        _ => format!("Amount due by {}", statement.due_on),
    };
    write([
        "TOTAL".into(),
        statement.due_on.to_string(),
        String::new(),
        String::new(),
        text(&summary),
        lines
            .iter()
            .map(|l| i64::from(l.line.quantity))
            .sum::<i64>()
            .to_string(),
        amount(statement.gross_cents),
        String::new(),
        amount(statement.commission_cents),
        amount(statement.net_cents),
    ])?;
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::internal_caused("writing CSV", e))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal_caused("writing CSV", e))
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn text_that_looks_like_a_formula_is_defused() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("-5 jars"), "'-5 jars");
        assert_eq!(text("Thyme honey"), "Thyme honey");
    }
}
