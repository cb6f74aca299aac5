//! The figures of a run: a table for people (value, unit, the goal of the performance
//! issue and whether it is met) and one JSON object of numbers for scripts.

use std::collections::BTreeMap;
use std::io::Write;

/// A goal of the performance work. Benchmarks report whether it is met; nothing fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Goal {
    None,
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
}

impl Goal {
    fn met(self, value: f64) -> Option<bool> {
        match self {
            Goal::None => None,
            Goal::AtLeast(x) => Some(value >= x),
            Goal::AtMost(x) => Some(value <= x),
            Goal::Below(x) => Some(value < x),
        }
    }

    fn text(self) -> String {
        match self {
            Goal::None => String::new(),
            Goal::AtLeast(x) => format!(">= {}", plain(x)),
            Goal::AtMost(x) => format!("<= {}", plain(x)),
            Goal::Below(x) => format!("< {}", plain(x)),
        }
    }
}

/// What is known about each figure: its unit, how it is rounded, its goal.
struct Spec {
    key: &'static str,
    unit: &'static str,
    decimals: usize,
    goal: Goal,
}

const SPECS: [Spec; 15] = [
    spec("read_items_per_s", "items/s", 0, Goal::AtLeast(1_500_000.0)),
    spec("read_cold_items_per_s", "items/s", 0, Goal::None),
    spec("redis_xrange_items_per_s", "items/s", 0, Goal::None),
    spec(
        "tracked_actions_per_s",
        "actions/s",
        0,
        Goal::AtLeast(5_000.0),
    ),
    spec(
        "untracked_actions_per_s",
        "actions/s",
        0,
        Goal::AtLeast(5_000.0),
    ),
    spec(
        "server_cpu_us_per_tracked_action",
        "µs",
        0,
        Goal::AtMost(150.0),
    ),
    spec("server_cpu_us_per_untracked_action", "µs", 0, Goal::None),
    spec("latency_p50_ms", "ms", 2, Goal::None),
    spec("latency_p99_ms", "ms", 2, Goal::AtMost(10.0)),
    spec("sse_latency_p99_ms", "ms", 2, Goal::AtMost(10.0)),
    // The machine during the shop's figures: CPU time a hypervisor took for other guests
    // (tails and throughput follow it on a shared virtual machine).
    spec("actions_steal_pct", "%", 1, Goal::None),
    spec("latency_steal_pct", "%", 1, Goal::None),
    spec("bytes_per_item", "B", 0, Goal::AtMost(300.0)),
    spec("rss_mb_1m_items", "MB", 1, Goal::Below(300.0)),
    spec(
        "consumer_items_per_s",
        "items/s",
        0,
        Goal::AtLeast(200_000.0),
    ),
];

const fn spec(key: &'static str, unit: &'static str, decimals: usize, goal: Goal) -> Spec {
    Spec {
        key,
        unit,
        decimals,
        goal,
    }
}

/// The prefix of the scale-out deployment's figures.
pub(crate) const SCALEOUT: &str = "scaleout_";

fn spec_of(key: &str) -> Option<&'static Spec> {
    let base = key.strip_prefix(SCALEOUT).unwrap_or(key);
    SPECS.iter().find(|s| s.key == base)
}

#[derive(Debug, Clone)]
struct Row {
    key: String,
    value: f64,
    note: String,
}

/// Figures as they are measured, in the order measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    /// Lines said below the table (what was skipped and why).
    remarks: Vec<String>,
}

impl Report {
    /// Records a figure; `note` says what it was measured on, for the table only.
    pub(crate) fn set(&mut self, key: &str, value: f64, note: impl Into<String>) {
        debug_assert!(spec_of(key).is_some(), "unknown figure {key}");
        let row = Row {
            key: key.to_owned(),
            value,
            note: note.into(),
        };
        match self.rows.iter_mut().find(|r| r.key == key) {
            Some(existing) => *existing = row,
            None => self.rows.push(row),
        }
    }

    pub(crate) fn remark(&mut self, text: impl Into<String>) {
        self.remarks.push(text.into());
    }

    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.key == key).map(|r| r.value)
    }

    /// The figures as one JSON object, each rounded as the table shows it.
    pub(crate) fn json(&self) -> serde_json::Value {
        let map: BTreeMap<&str, f64> = self
            .rows
            .iter()
            .map(|r| {
                let decimals = spec_of(&r.key).map_or(3, |s| s.decimals.max(1));
                (r.key.as_str(), round(r.value, decimals))
            })
            .collect();
        serde_json::json!(map)
    }

    pub(crate) fn print_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut lines = vec![[
            "figure".to_owned(),
            "value".to_owned(),
            "unit".to_owned(),
            "goal".to_owned(),
            "met".to_owned(),
            "measured on".to_owned(),
        ]];
        for row in &self.rows {
            let (unit, decimals, goal) =
                spec_of(&row.key).map_or(("", 2, Goal::None), |s| (s.unit, s.decimals, s.goal));
            lines.push([
                row.key.clone(),
                grouped(row.value, decimals),
                unit.to_owned(),
                goal.text(),
                met(goal.met(row.value)),
                row.note.clone(),
            ]);
        }
        for (name, ratio, goal) in self.ratios() {
            lines.push([
                name,
                grouped(ratio, 2),
                "x".to_owned(),
                goal.text(),
                met(goal.met(ratio)),
                String::new(),
            ]);
        }
        let mut widths = [0; 6];
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for line in &lines {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
                let pad = w - cell.chars().count();
                // Numbers line up on the right.
                if i == 1 {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    if i + 1 < line.len() {
                        text.push_str(&" ".repeat(pad));
                    }
                }
                if i + 1 < line.len() {
                    text.push_str("  ");
                }
            }
            writeln!(out, "{}", text.trim_end())?;
        }
        for remark in &self.remarks {
            writeln!(out, "note: {remark}")?;
        }
        Ok(())
    }

    /// The goals that compare two figures.
    fn ratios(&self) -> Vec<(String, f64, Goal)> {
        let mut out = Vec::new();
        for prefix in ["", SCALEOUT] {
            let pair = |a: &str, b: &str| {
                let a = self.get(&format!("{prefix}{a}"))?;
                let b = self.get(b)?;
                (b > 0.0).then(|| a / b)
            };
            let redis = pair("read_items_per_s", "redis_xrange_items_per_s");
            if let Some(ratio) = redis {
                out.push((
                    format!("{prefix}read / redis_xrange"),
                    ratio,
                    Goal::AtLeast(3.0),
                ));
            }
            let cpu = self
                .get(&format!("{prefix}server_cpu_us_per_tracked_action"))
                .zip(self.get(&format!("{prefix}server_cpu_us_per_untracked_action")))
                .and_then(|(t, u)| (u > 0.0).then(|| t / u));
            if let Some(ratio) = cpu {
                out.push((
                    format!("{prefix}cpu tracked / untracked"),
                    ratio,
                    Goal::AtMost(1.1),
                ));
            }
        }
        out
    }
}

fn met(met: Option<bool>) -> String {
    match met {
        None => String::new(),
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
    }
}

/// A goal's number: whole numbers without decimals.
fn plain(x: f64) -> String {
    grouped(x, if x.fract() == 0.0 { 0 } else { 1 })
}

fn round(value: f64, decimals: usize) -> f64 {
    let factor = 10f64.powi(i32::try_from(decimals).unwrap_or(3));
    (value * factor).round() / factor
}

/// `1234567.8` as `1,234,568` (or with decimals: `12.35`).
pub(crate) fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(1_234_567.8, 0), "1,234,568");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(12.345, 2), "12.35");
        assert_eq!(grouped(-1500.0, 0), "-1,500");
    }

    #[test]
    fn goals_are_judged_and_ratios_derived() {
        let mut report = Report::default();
        report.set("read_items_per_s", 900_000.0, "100 items");
        report.set("redis_xrange_items_per_s", 300_000.0, "");
        report.set("server_cpu_us_per_tracked_action", 120.0, "");
        report.set("server_cpu_us_per_untracked_action", 100.0, "");
        report.set("scaleout_read_items_per_s", 600_000.0, "");
        let mut out = Vec::new();
        report.print_table(&mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in\n{table}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            line("read_items_per_s")[..5],
            ["read_items_per_s", "900,000", "items/s", ">=", "1,500,000"]
        );
        assert_eq!(line("read_items_per_s")[5], "no");
        assert_eq!(line("server_cpu_us_per_tracked_action")[5], "yes");
        assert_eq!(
            line("read / redis_xrange")[3..],
            ["3.00", "x", ">=", "3", "yes"]
        );
        assert_eq!(
            line("cpu tracked / untracked")[4..],
            ["1.20", "x", "<=", "1.1", "no"]
        );
        assert_eq!(line("scaleout_read / redis_xrange")[3], "2.00");
    }

    #[test]
    fn the_json_holds_every_figure_once_rounded() {
        let mut report = Report::default();
        report.set("latency_p99_ms", 1.23456, "");
        report.set("bytes_per_item", 947.4, "");
        report.set("bytes_per_item", 950.04, "");
        let json = report.json();
        assert_eq!(json["latency_p99_ms"], 1.23);
        assert_eq!(json["bytes_per_item"], 950.0);
        assert_eq!(json.as_object().unwrap().len(), 2);
    }
}
