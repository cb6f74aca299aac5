//! What the kernel says about a server process: CPU time (`/proc/<pid>/stat`) and resident
//! memory (`/proc/<pid>/status`); and about the machine, the CPU time a hypervisor gave
//! to other guests (`/proc/stat`). Parsed here rather than through a crate because a few
//! fields are all the bench needs.

use std::time::Duration;

use anyhow::{Context as _, anyhow};

/// The CPU time a process has used: in user space, and in the kernel on its behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ProcessCpu {
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

impl ProcessCpu {
    pub(crate) fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub(crate) fn since(self, earlier: ProcessCpu) -> ProcessCpu {
        ProcessCpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    pub(crate) fn add(&mut self, other: ProcessCpu) {
        self.user += other.user;
        self.system += other.system;
    }

    /// The user-space share of the total, in percent (0 when none was used).
    pub(crate) fn user_pct(self) -> f64 {
        let total = self.total().as_secs_f64();
        if total == 0.0 {
            return 0.0;
        }
        100.0 * self.user.as_secs_f64() / total
    }
}

/// The CPU time a process has used so far.
pub(crate) fn cpu_time(pid: u32) -> anyhow::Result<ProcessCpu> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let (user, system) = cpu_ticks(&text).with_context(|| format!("parsing {path}"))?;
    let per_second = rustix::param::clock_ticks_per_second();
    Ok(ProcessCpu {
        user: ticks_to_duration(user, per_second),
        system: ticks_to_duration(system, per_second),
    })
}

/// What a process holds in memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resident {
    /// `VmRSS`: everything resident.
    pub(crate) total: u64,
    /// `RssAnon`: heap and stacks.
    pub(crate) anon: u64,
    /// `RssFile`: pages of mapped files (a database file read through `mmap`, say).
    pub(crate) file: u64,
}

/// The resident memory of a process.
pub(crate) fn resident(pid: u32) -> anyhow::Result<Resident> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_resident(&text).with_context(|| format!("parsing {path}"))
}

/// `utime` and `stime` from the text of `/proc/<pid>/stat`, in clock ticks.
///
/// The second field, the command name, is in parentheses and may itself hold spaces and
/// parentheses, so the fields are counted from the last `)`.
pub(crate) fn cpu_ticks(stat: &str) -> anyhow::Result<(u64, u64)> {
    let end = stat.rfind(')').ok_or_else(|| anyhow!("no command name"))?;
    // After the name: field 3 (state) is index 0, so utime (14) and stime (15) are 11, 12.
    let mut fields = stat[end + 1..].split_whitespace().skip(11);
    let mut next = |name: &str| -> anyhow::Result<u64> {
        let field = fields.next().ok_or_else(|| anyhow!("no {name} field"))?;
        field
            .parse()
            .with_context(|| format!("{name} is not a number: {field:?}"))
    };
    let utime = next("utime")?;
    let stime = next("stime")?;
    Ok((utime, stime))
}

/// The resident sizes from the text of `/proc/<pid>/status`.
pub(crate) fn parse_resident(status: &str) -> anyhow::Result<Resident> {
    Ok(Resident {
        total: status_kb(status, "VmRSS")? * 1024,
        anon: status_kb(status, "RssAnon")? * 1024,
        file: status_kb(status, "RssFile")? * 1024,
    })
}

/// A `Name:   <n> kB` line of `/proc/<pid>/status`.
fn status_kb(status: &str, name: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .ok_or_else(|| anyhow!("no {name} line"))?;
    let mut parts = line.split_whitespace();
    let (Some(value), Some("kB"), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(anyhow!("{name} is not \"<n> kB\": {line:?}"));
    };
    value
        .parse()
        .with_context(|| format!("{name} is not a number: {value:?}"))
}

/// The machine's CPU time so far, all CPUs together, in clock ticks: all of it, and the
/// part a hypervisor ran other guests on this machine's virtual CPUs (`steal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MachineCpu {
    total: u64,
    steal: u64,
}

impl MachineCpu {
    pub(crate) fn now() -> anyhow::Result<MachineCpu> {
        let path = "/proc/stat";
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        parse_machine_cpu(&text).with_context(|| format!("parsing {path}"))
    }

    /// The share of the machine's CPU time since `earlier` that was stolen, in percent
    /// (0 when no time has been counted since).
    pub(crate) fn steal_pct_since(self, earlier: MachineCpu) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        let steal = self.steal.saturating_sub(earlier.steal);
        if total == 0 {
            return 0.0;
        }
        // Tick counts of a run fit an f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let pct = 100.0 * steal as f64 / total as f64;
        pct
    }
}

/// The first line of `/proc/stat`: `cpu  user nice system idle iowait irq softirq steal
/// guest guest_nice`, in ticks. Guest time is already counted in user time, so the
/// total is the first eight.
pub(crate) fn parse_machine_cpu(stat: &str) -> anyhow::Result<MachineCpu> {
    let line = stat
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .ok_or_else(|| anyhow!("no \"cpu\" line"))?;
    let fields = line
        .split_whitespace()
        .take(8)
        .map(|f| {
            f.parse::<u64>()
                .with_context(|| format!("not a number: {f:?}"))
        })
        .collect::<anyhow::Result<Vec<u64>>>()?;
    let steal = *fields
        .get(7)
        .ok_or_else(|| anyhow!("no steal field (kernels before 2.6.11)"))?;
    Ok(MachineCpu {
        total: fields.iter().sum(),
        steal,
    })
}

fn ticks_to_duration(ticks: u64, per_second: u64) -> Duration {
    let per_second = per_second.max(1);
    let secs = ticks / per_second;
    let rest = ticks % per_second;
    Duration::from_secs(secs) + Duration::from_nanos(rest * 1_000_000_000 / per_second)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cpu_ticks_are_counted_from_the_last_parenthesis() {
        // A command name with spaces and a parenthesis must not shift the fields.
        let stat = "4242 (ticket (stream) x) S 1 4242 4242 0 -1 4194560 9046 0 0 0 \
                    731 269 0 0 20 0 9 0 123456 1234567 2345 18446744073709551615";
        assert_eq!(cpu_ticks(stat).unwrap(), (731, 269));
    }

    #[test]
    fn a_truncated_stat_line_is_an_error() {
        assert!(cpu_ticks("4242 (ts) S 1 2 3").is_err());
        assert!(cpu_ticks("no parenthesis at all").is_err());
        assert!(cpu_ticks("1 (ts) S 1 1 1 0 -1 0 0 0 0 0 x 5").is_err());
    }

    #[test]
    fn resident_sizes_are_read_in_kilobytes() {
        let status = "Name:\tticketstream\nVmPeak:\t  999 kB\nVmRSS:\t   51234 kB\n\
                      RssAnon:\t   40000 kB\nRssFile:\t   11000 kB\nRssShmem:\t 234 kB\nThreads:\t9\n";
        let resident = parse_resident(status).unwrap();
        assert_eq!(
            resident,
            Resident {
                total: 51234 * 1024,
                anon: 40000 * 1024,
                file: 11000 * 1024
            }
        );
        assert!(parse_resident("Name:\tx\n").is_err());
        assert!(parse_resident("VmRSS:\t12 MB\nRssAnon:\t1 kB\nRssFile:\t1 kB\n").is_err());
    }

    #[test]
    fn steal_is_a_share_of_the_machines_cpu_time() {
        let before = parse_machine_cpu(
            "cpu  1000 10 300 5000 40 0 20 30 0 0\ncpu0 500 5 150 2500 20 0 10 15 0 0\n",
        )
        .unwrap();
        assert_eq!(
            before,
            MachineCpu {
                total: 6400,
                steal: 30
            }
        );
        let after =
            parse_machine_cpu("cpu  1500 10 400 5300 40 0 20 130 50 0\nintr 1 2\n").unwrap();
        // 1000 ticks later, 100 of them stolen; guest time is not counted twice.
        assert!((after.steal_pct_since(before) - 10.0).abs() < 1e-9);
        assert!(after.steal_pct_since(after).abs() < 1e-9);
        assert!(parse_machine_cpu("cpu0 1 2 3 4 5 6 7 8\n").is_err());
        assert!(parse_machine_cpu("cpu  1 2 3 4 5 6 7\n").is_err());
        assert!(parse_machine_cpu("cpu  1 2 3 x 5 6 7 8\n").is_err());
        let now = MachineCpu::now().unwrap();
        assert!(now.total >= now.steal);
    }

    #[test]
    fn ticks_become_time() {
        assert_eq!(ticks_to_duration(250, 100), Duration::from_millis(2500));
        assert_eq!(ticks_to_duration(1, 3), Duration::from_nanos(333_333_333));
    }

    #[test]
    fn this_process_has_a_cpu_time_and_a_resident_size() {
        let pid = std::process::id();
        let resident = resident(pid).unwrap();
        assert!(resident.total > 0 && resident.total >= resident.anon);
        // Burn CPU until a tick has been counted: on a loaded machine 50 ms of wall
        // time may hold less than one tick of CPU, so wait on the CPU, not the clock
        // (at most 10 s, far beyond a tick of 10 ms).
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_time(pid).unwrap().total() == Duration::ZERO
            && started.elapsed() < Duration::from_secs(10)
        {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        assert!(cpu_time(pid).unwrap().total() > Duration::ZERO);
    }

    #[test]
    fn a_process_cpu_time_splits_into_user_and_system() {
        let ms = Duration::from_millis;
        let earlier = ProcessCpu {
            user: ms(100),
            system: ms(50),
        };
        let later = ProcessCpu {
            user: ms(400),
            system: ms(150),
        };
        let used = later.since(earlier);
        assert_eq!(used.total(), ms(400));
        assert!((used.user_pct() - 75.0).abs() < 1e-9);
        let mut sum = ProcessCpu::default();
        assert!(sum.user_pct().abs() < 1e-9);
        sum.add(used);
        sum.add(used);
        assert_eq!((sum.user, sum.system), (ms(600), ms(200)));
        // A clock that went backwards (never, but) gives nothing rather than a wrap.
        assert_eq!(earlier.since(later), ProcessCpu::default());
    }
}
