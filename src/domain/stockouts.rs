//! A project's out-of-stock report: what the click batcher sends a project's report object
//! (`ProjectStockouts`, one per project: visits of links with backups, visits that met an
//! out-of-stock product, and swaps, per UTC day and US state), how that object's batches are
//! checked, and the report itself, as JSON and as CSV. The report reads one object per
//! project, never the links' click shards.

use super::error::FieldError;
use super::stats::{ClickEvent, DAY_MS, MAX_EVENTS_PER_CALL, MAX_VALUE_BYTES, TOP_VALUES};
use super::time::format_rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The report's longest range, in days.
pub const MAX_REPORT_DAYS: i64 = 366;
/// The report's range when `from` is left out: this many days up to `to`.
pub const DEFAULT_REPORT_DAYS: i64 = 30;
/// Swaps a report lists, the most frequent first.
pub const REPORT_TOP_SUBSTITUTIONS: usize = TOP_VALUES;

/// One project's share of a click batch, counted: `[day, region] → [visits, out of stock]` and
/// `[day, region, original, replacement] → swaps`. Shopper visits only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectRows {
    pub daily: BTreeMap<(i64, String), (u64, u64)>,
    pub swaps: BTreeMap<(i64, String, String, String), u64>,
}

/// The rows of each project a batch's events of links with backups concern.
pub fn project_rows<'a>(
    events: impl IntoIterator<Item = &'a ClickEvent>,
) -> BTreeMap<String, ProjectRows> {
    let mut out: BTreeMap<String, ProjectRows> = BTreeMap::new();
    for e in events {
        let Some(stock) = &e.stock else { continue };
        if !e.bot.is_empty() {
            continue;
        }
        let day = e.ts.div_euclid(DAY_MS);
        let rows = out.entry(stock.project.clone()).or_default();
        let d = rows.daily.entry((day, e.region.to_string())).or_default();
        d.0 += 1;
        d.1 += u64::from(stock.out_of_stock);
        for (original, replacement) in &stock.swaps {
            *rows
                .swaps
                .entry((
                    day,
                    e.region.to_string(),
                    original.clone(),
                    replacement.clone(),
                ))
                .or_default() += 1;
        }
    }
    out
}

impl ProjectRows {
    /// Delivery bodies `[id, daily, swaps]` (daily rows `[day, region, visits, outOfStock]`,
    /// swap rows `[day, region, original, replacement, n]`), at most `MAX_EVENTS_PER_CALL`
    /// rows of each kind per body; `ids` gives each body its batch id.
    pub fn bodies(&self, mut ids: impl FnMut() -> String) -> Vec<String> {
        let daily: Vec<Value> = self
            .daily
            .iter()
            .map(|((day, region), (visits, oos))| json!([day, region, visits, oos]))
            .collect();
        let swaps: Vec<Value> = self
            .swaps
            .iter()
            .map(|((day, region, o, r), n)| json!([day, region, o, r, n]))
            .collect();
        let parts = daily
            .len()
            .max(swaps.len())
            .div_ceil(MAX_EVENTS_PER_CALL)
            .max(1);
        (0..parts)
            .map(|i| {
                let cut = |rows: &[Value]| -> Vec<Value> {
                    rows.iter()
                        .skip(i * MAX_EVENTS_PER_CALL)
                        .take(MAX_EVENTS_PER_CALL)
                        .cloned()
                        .collect()
                };
                json!([ids(), cut(&daily), cut(&swaps)]).to_string()
            })
            .collect()
    }
}

/// A checked report batch: its id and when it was made (its id's time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedProjectBatch {
    pub id: String,
    pub at: i64,
}

/// Checks a report batch before any of it is stored: the `bat_` ULID id, every daily row
/// `[day, region, visits ≥ 1, 0 ≤ outOfStock ≤ visits]`, every swap row `[day, region, item id,
/// item id, n ≥ 1]`.
pub fn check_project_batch(json: &str) -> Result<CheckedProjectBatch, String> {
    if json.len() > super::stats::MAX_BATCH_BYTES {
        return Err("too large".into());
    }
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let Some([Value::String(id), Value::Array(daily), Value::Array(swaps)]) =
        v.as_array().map(Vec::as_slice)
    else {
        return Err("not a batch: [id, daily, swaps]".into());
    };
    let at = id
        .strip_prefix("bat_")
        .and_then(|u| ulid::Ulid::from_string(u).ok())
        .and_then(|u| i64::try_from(u.timestamp_ms()).ok())
        .ok_or("the batch id is not a bat_ ULID")?;
    if daily.len() > MAX_EVENTS_PER_CALL || swaps.len() > MAX_EVENTS_PER_CALL {
        return Err(format!("more than {MAX_EVENTS_PER_CALL} rows"));
    }
    let region_ok = |r: &Value| r.as_str().is_some_and(|r| r.len() <= MAX_VALUE_BYTES);
    let id_ok = |v: &Value| {
        v.as_str()
            .is_some_and(|s| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
    };
    for (i, row) in daily.iter().enumerate() {
        let ok = match row.as_array().map(Vec::as_slice) {
            Some([day, region, visits, oos]) => {
                day.as_i64().is_some() && region_ok(region) && {
                    match (visits.as_u64(), oos.as_u64()) {
                        (Some(v), Some(o)) => v >= 1 && o <= v && v <= 0xffff_ffff,
                        _ => false,
                    }
                }
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "daily {i}: expected day, region, visits, outOfStock"
            ));
        }
    }
    for (i, row) in swaps.iter().enumerate() {
        let ok = match row.as_array().map(Vec::as_slice) {
            Some([day, region, o, r, n]) => {
                day.as_i64().is_some()
                    && region_ok(region)
                    && id_ok(o)
                    && id_ok(r)
                    && matches!(n.as_u64(), Some(1..=0xffff_ffff))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "swap {i}: expected day, region, two item ids and a count"
            ));
        }
    }
    Ok(CheckedProjectBatch { id: id.clone(), at })
}

/// The report range from the query: `from` and `to` (ms) widened to whole UTC days; `to`
/// defaults to now, `from` to `DEFAULT_REPORT_DAYS` before `to`. Answers `[fromDay, toDay)`
/// (day numbers since the epoch), or the problems at their keys.
pub fn report_range(
    from: Option<i64>,
    to: Option<i64>,
    now: i64,
) -> Result<(i64, i64), Vec<FieldError>> {
    let to_day = ceil_day(to.unwrap_or(now).max(0));
    let from_day = match from {
        Some(f) => f.max(0).div_euclid(DAY_MS),
        None => to_day - DEFAULT_REPORT_DAYS,
    };
    let to_day = to_day.max(from_day + 1);
    let mut problems = Vec::new();
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            problems.push(FieldError::new(
                "to",
                "out_of_range",
                "to must be after from",
            ));
        }
    }
    if to_day - from_day > MAX_REPORT_DAYS {
        problems.push(FieldError::new(
            if from.is_some() { "from" } else { "to" },
            "out_of_range",
            format!("The range may span at most {MAX_REPORT_DAYS} days"),
        ));
    }
    // The answer's dates must stay writable with four-digit years.
    if to_day > 2_932_896 {
        problems.push(FieldError::new(
            "to",
            "out_of_range",
            "to must be before year 10000",
        ));
    }
    if problems.is_empty() {
        Ok((from_day, to_day))
    } else {
        Err(problems)
    }
}

fn ceil_day(ms: i64) -> i64 {
    let d = ms.div_euclid(DAY_MS);
    if ms.rem_euclid(DAY_MS) == 0 {
        d
    } else {
        d + 1
    }
}

/// What a project's report object answers for a range: per day and per region, visits,
/// visits that met an out-of-stock product and swaps; the most frequent swaps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRows {
    /// (day, visits, out of stock, substitutions).
    pub days: Vec<(i64, u64, u64, u64)>,
    /// (region, visits, out of stock, substitutions).
    pub regions: Vec<(String, u64, u64, u64)>,
    /// (original, replacement, count), most frequent first.
    pub top: Vec<(String, String, u64)>,
}

/// The report's `data`: totals, every day of `[fromDay, toDay)` (zero-filled), regions by
/// out-of-stock visits, and the most frequent swaps.
pub fn report(project_id: &str, from_day: i64, to_day: i64, rows: &ReportRows) -> Value {
    let counts = |visits: u64, oos: u64, subs: u64| json!({"visits": visits, "outOfStock": oos, "substitutions": subs});
    let mut by_day: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    for (day, v, o, s) in &rows.days {
        let e = by_day.entry(*day).or_default();
        e.0 += v;
        e.1 += o;
        e.2 += s;
    }
    let total = by_day
        .range(from_day..to_day)
        .fold((0, 0, 0), |t, (_, x)| (t.0 + x.0, t.1 + x.1, t.2 + x.2));
    let days: Vec<Value> = (from_day..to_day)
        .map(|d| {
            let (v, o, s) = by_day.get(&d).copied().unwrap_or_default();
            let mut c = counts(v, o, s);
            c["date"] = json!(date(d));
            c
        })
        .collect();
    let mut regions: Vec<&(String, u64, u64, u64)> = rows.regions.iter().collect();
    regions.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    let regions: Vec<Value> = regions
        .into_iter()
        .map(|(r, v, o, s)| {
            let mut c = counts(*v, *o, *s);
            c["region"] = json!(if r.is_empty() { "(none)" } else { r.as_str() });
            c
        })
        .collect();
    let top: Vec<Value> = super::stats::substitutions(&rows.top)
        .as_array()
        .map(|a| a.iter().take(REPORT_TOP_SUBSTITUTIONS).cloned().collect())
        .unwrap_or_default();
    json!({
        "projectId": project_id,
        "from": format_rfc3339(from_day * DAY_MS),
        "to": format_rfc3339(to_day * DAY_MS),
        "totals": counts(total.0, total.1, total.2),
        "byDay": days,
        "byRegion": regions,
        "topSubstitutions": top,
    })
}

/// `YYYY-MM-DD` of a day number.
fn date(day: i64) -> String {
    format_rfc3339(day * DAY_MS)[..10].to_string()
}

/// The report as CSV: one table, a `section` column telling its rows apart (`total`, `day`,
/// `region`, `substitution`), the columns a row has no value for left empty.
pub fn report_csv(data: &Value) -> String {
    let mut out = String::from(
        "section,date,region,originalId,replacementId,visits,outOfStock,substitutions\r\n",
    );
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0).to_string();
    let s = |v: &Value, k: &str| csv_field(v.get(k).and_then(Value::as_str).unwrap_or(""));
    let mut line = |fields: [String; 8]| {
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    let t = &data["totals"];
    line([
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        n(t, "visits"),
        n(t, "outOfStock"),
        n(t, "substitutions"),
    ]);
    for d in data["byDay"].as_array().into_iter().flatten() {
        line([
            "day".into(),
            s(d, "date"),
            String::new(),
            String::new(),
            String::new(),
            n(d, "visits"),
            n(d, "outOfStock"),
            n(d, "substitutions"),
        ]);
    }
    for r in data["byRegion"].as_array().into_iter().flatten() {
        line([
            "region".into(),
            String::new(),
            s(r, "region"),
            String::new(),
            String::new(),
            n(r, "visits"),
            n(r, "outOfStock"),
            n(r, "substitutions"),
        ]);
    }
    for x in data["topSubstitutions"].as_array().into_iter().flatten() {
        line([
            "substitution".into(),
            String::new(),
            String::new(),
            s(x, "originalId"),
            s(x, "replacementId"),
            String::new(),
            String::new(),
            n(x, "count"),
        ]);
    }
    out
}

/// A CSV field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet never reads it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::StockOutcome;

    const BATCH_ID: &str = "bat_01KAMR8WW0000000000000000Z";
    const DAY: i64 = 20_454; // 2026-01-01

    fn visit(
        ts: i64,
        region: &'static str,
        project: &str,
        oos: bool,
        swaps: &[(&str, &str)],
    ) -> ClickEvent {
        ClickEvent {
            ts,
            country: "US".into(),
            device: "mobile",
            os: "ios",
            browser: "safari",
            referrer: String::new(),
            qr: String::new(),
            bot: "",
            visitor: "v".into(),
            event: "",
            retailer: "",
            region,
            stock: Some(StockOutcome {
                project: project.into(),
                out_of_stock: oos,
                swaps: swaps
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            }),
        }
    }

    #[test]
    fn a_batch_is_counted_per_project_day_and_region_shoppers_only() {
        let t = DAY * DAY_MS;
        let mut bot = visit(t, "TX", "p1", true, &[("1", "7")]);
        bot.bot = "googlebot";
        let mut plain = visit(t, "TX", "p1", true, &[]);
        plain.stock = None;
        let events = vec![
            visit(t + 1, "TX", "p1", true, &[("1", "7")]),
            visit(t + 2, "TX", "p1", false, &[]),
            visit(t + 3, "", "p1", true, &[("1", "7"), ("2", "9")]),
            visit(t + DAY_MS, "TX", "p1", true, &[("1", "7")]),
            visit(t + 4, "CA", "p2", true, &[]),
            bot,
            plain,
        ];
        let rows = project_rows(&events);
        assert_eq!(rows.len(), 2);
        let p1 = &rows["p1"];
        assert_eq!(p1.daily[&(DAY, "TX".into())], (2, 1));
        assert_eq!(p1.daily[&(DAY, "".into())], (1, 1));
        assert_eq!(p1.daily[&(DAY + 1, "TX".into())], (1, 1));
        assert_eq!(p1.swaps[&(DAY, "TX".into(), "1".into(), "7".into())], 1);
        assert_eq!(p1.swaps[&(DAY, "".into(), "1".into(), "7".into())], 1);
        assert_eq!(p1.swaps.len(), 4);
        assert_eq!(rows["p2"].daily[&(DAY, "CA".into())], (1, 1));
        let bodies = p1.bodies(|| BATCH_ID.to_string());
        assert_eq!(bodies.len(), 1);
        assert_eq!(
            bodies[0],
            format!(
                r#"["{BATCH_ID}",[[{DAY},"",1,1],[{DAY},"TX",2,1],[{},"TX",1,1]],[[{DAY},"","1","7",1],[{DAY},"","2","9",1],[{DAY},"TX","1","7",1],[{},"TX","1","7",1]]]"#,
                DAY + 1,
                DAY + 1
            )
        );
        assert_eq!(check_project_batch(&bodies[0]).unwrap().id, BATCH_ID);
    }

    #[test]
    fn large_batches_are_cut_and_bad_ones_refused() {
        let mut rows = ProjectRows::default();
        for i in 0..2_500 {
            rows.daily.insert((i, String::new()), (1, 0));
        }
        let mut n = 0;
        let bodies = rows.bodies(|| {
            n += 1;
            BATCH_ID.to_string()
        });
        assert_eq!((bodies.len(), n), (3, 3));
        assert!(bodies.iter().all(|b| check_project_batch(b).is_ok()));
        for bad in [
            "[]".to_string(),
            r#"["x",[],[]]"#.to_string(),
            format!(r#"["{BATCH_ID}",[[1,"",0,0]],[]]"#),
            format!(r#"["{BATCH_ID}",[[1,"",1,2]],[]]"#),
            format!(r#"["{BATCH_ID}",[],[[1,"","1","x",1]]]"#),
            format!(r#"["{BATCH_ID}",[],[[1,"","1","2",0]]]"#),
            format!(r#"["{BATCH_ID}",[[1,"{}",1,0]],[]]"#, "r".repeat(300)),
        ] {
            assert!(check_project_batch(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn report_ranges_are_whole_days_with_defaults_and_limits() {
        let now = DAY * DAY_MS + 5;
        assert_eq!(report_range(None, None, now), Ok((DAY + 1 - 30, DAY + 1)));
        assert_eq!(
            report_range(Some(DAY * DAY_MS + 1), Some(DAY * DAY_MS + 2), now),
            Ok((DAY, DAY + 1))
        );
        assert_eq!(
            report_range(Some(DAY * DAY_MS), Some((DAY + 2) * DAY_MS), now),
            Ok((DAY, DAY + 2))
        );
        let keys = |r: Result<(i64, i64), Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| (e.key, e.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(report_range(Some(5 * DAY_MS), Some(DAY_MS), now)),
            vec![("to".to_string(), "out_of_range")]
        );
        assert_eq!(
            keys(report_range(Some(0), Some(400 * DAY_MS), now)),
            vec![("from".to_string(), "out_of_range")]
        );
        assert_eq!(
            keys(report_range(None, Some(253_402_300_800_000), now)),
            vec![("to".to_string(), "out_of_range")]
        );
    }

    #[test]
    fn the_report_totals_days_regions_and_top_swaps_and_reads_as_csv() {
        let rows = ReportRows {
            days: vec![
                (DAY, 10, 4, 3),
                (DAY + 2, 5, 1, 1),
                (DAY - 5, 100, 100, 100),
            ],
            regions: vec![
                ("CA".into(), 9, 1, 1),
                ("TX".into(), 5, 3, 2),
                ("".into(), 1, 1, 1),
            ],
            top: vec![
                ("1".into(), "7".into(), 2),
                ("2".into(), "9".into(), 1),
                ("1".into(), "7".into(), 1),
            ],
        };
        let r = report("proj_1", DAY, DAY + 3, &rows);
        assert_eq!(
            r["totals"],
            json!({"visits": 15, "outOfStock": 5, "substitutions": 4})
        );
        assert_eq!(r["from"], "2026-01-01T00:00:00Z");
        assert_eq!(r["to"], "2026-01-04T00:00:00Z");
        assert_eq!(
            r["byDay"],
            json!([
                {"date": "2026-01-01", "visits": 10, "outOfStock": 4, "substitutions": 3},
                {"date": "2026-01-02", "visits": 0, "outOfStock": 0, "substitutions": 0},
                {"date": "2026-01-03", "visits": 5, "outOfStock": 1, "substitutions": 1},
            ])
        );
        let regions: Vec<&str> = r["byRegion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["region"].as_str().unwrap())
            .collect();
        assert_eq!(regions, ["TX", "CA", "(none)"]);
        assert_eq!(
            r["topSubstitutions"],
            json!([{"originalId": "1", "replacementId": "7", "count": 3},
                   {"originalId": "2", "replacementId": "9", "count": 1}])
        );
        let csv = report_csv(&r);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "section,date,region,originalId,replacementId,visits,outOfStock,substitutions"
        );
        assert_eq!(lines[1], "total,,,,,15,5,4");
        assert_eq!(lines[2], "day,2026-01-01,,,,10,4,3");
        assert_eq!(lines[5], "region,,TX,,,5,3,2");
        assert_eq!(lines[8], "substitution,,,1,7,,,3");
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[10], "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd"), "'=cmd");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
