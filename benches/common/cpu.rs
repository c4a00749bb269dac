//! CPU time of the bench process, for the Kafka baselines (`bare_producer`, `bare_consumer`).

/// User + system CPU time of this process so far (all threads), from `/proc/self/stat` in
/// clock ticks of 10 ms (Linux's `USER_HZ`); 0 where that file cannot be read.
pub fn process_cpu_seconds() -> f64 {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 12th and 13th of them.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<f64>().ok())
        .sum();
    ticks / TICKS_PER_SECOND
}
