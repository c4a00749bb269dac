//! Realistic user agents: a pool of distinct browser, app and bot user agents drawn with a
//! heavy-tailed (Zipf-like) popularity, plus a share of one-off user agents, as in real traffic
//! where a few hundred user agents make most requests and a long tail is seen once.

use super::rng::Rng;

type Template = fn(&mut Rng) -> String;

const TEMPLATES: &[(u32, Template)] = &[
    (30, |r| {
        format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36",
            r.between(90, 131),
            r.between(4000, 6800),
            r.between(0, 250)
        )
    }),
    (12, |r| {
        format!(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{}.{} Safari/605.1.15",
            r.between(1, 7),
            r.between(14, 18),
            r.between(0, 6)
        )
    }),
    (10, |r| {
        let v = r.between(100, 133);
        format!("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
    }),
    (8, |r| {
        let v = r.between(100, 133);
        format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
    }),
    (14, |r| {
        format!(
            "Mozilla/5.0 (iPhone; CPU iPhone OS {}_{} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{}.{} Mobile/15E148 Safari/604.1",
            r.between(14, 18),
            r.between(0, 7),
            r.between(14, 18),
            r.between(0, 6)
        )
    }),
    (12, |r| {
        let models = [
            "SM-G991B",
            "SM-A515F",
            "Pixel 7",
            "Pixel 8 Pro",
            "M2101K6G",
            "CPH2411",
            "moto g(60)",
        ];
        let model = r.pick(&models).copied().unwrap_or("K");
        format!(
            "Mozilla/5.0 (Linux; Android {}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Mobile Safari/537.36",
            r.between(9, 14),
            r.between(100, 131),
            r.between(4000, 6800),
            r.between(0, 250)
        )
    }),
    (5, |r| {
        format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 Safari/537.36 Edg/{}.0.{}.{}",
            r.between(110, 131),
            r.between(110, 131),
            r.between(1000, 2900),
            r.between(0, 120)
        )
    }),
    (4, |r| {
        format!(
            "WikipediaApp/{}.{}.{}.{} (iOS {}.{}; Phone)",
            r.between(6, 7),
            r.between(0, 9),
            r.between(0, 9),
            r.between(1000, 5000),
            r.between(14, 18),
            r.between(0, 5)
        )
    }),
    (4, |r| {
        format!(
            "WikipediaApp/2.7.{}-r-2024-{:02}-{:02} (Android {}; Phone) Google Play",
            r.between(50000, 50500),
            r.between(1, 12),
            r.between(1, 28),
            r.between(9, 14)
        )
    }),
    (2, |r| {
        format!(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/{}.0.0.0",
            r.between(100, 131)
        )
    }),
    (1, |r| {
        format!("curl/7.{}.{}", r.between(50, 88), r.between(0, 3))
    }),
    (1, |r| {
        format!(
            "python-requests/2.{}.{}",
            r.between(20, 32),
            r.between(0, 3)
        )
    }),
    (1, |r| {
        format!("MediaWiki/1.{}.{}", r.between(35, 43), r.between(0, 4))
    }),
];

/// Draws user agents the way real traffic would show them.
#[derive(Debug, Clone)]
pub struct UserAgentPool {
    pool: Vec<String>,
    /// Cumulative Zipf weights over `pool`.
    cumulative: Vec<f64>,
    fresh_share: f64,
}

impl UserAgentPool {
    /// A pool of `size` distinct user agents; `fresh_share` of draws are new one-off user agents.
    pub fn new(rng: &mut Rng, size: usize, fresh_share: f64) -> Self {
        let size = size.max(1);
        let mut pool = Vec::with_capacity(size);
        let mut seen = std::collections::HashSet::new();
        let mut attempts = 0;
        while pool.len() < size && attempts < size * 20 {
            attempts += 1;
            let ua = fresh(rng);
            if seen.insert(ua.clone()) {
                pool.push(ua);
            }
        }
        let mut cumulative = Vec::with_capacity(pool.len());
        let mut total = 0.0;
        for rank in 1..=pool.len() {
            total += 1.0 / rank as f64;
            cumulative.push(total);
        }
        UserAgentPool {
            pool,
            cumulative,
            fresh_share,
        }
    }

    /// Number of distinct pooled user agents.
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// Whether the pool is empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    /// One user agent.
    pub fn draw(&self, rng: &mut Rng) -> String {
        if rng.chance(self.fresh_share) {
            return fresh(rng);
        }
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&c| c < target);
        self.pool
            .get(rank.min(self.pool.len().saturating_sub(1)))
            .cloned()
            .unwrap_or_else(|| fresh(rng))
    }
}

/// A newly made user agent from a template chosen by template weight.
fn fresh(rng: &mut Rng) -> String {
    let total: u32 = TEMPLATES.iter().map(|(w, _)| w).sum();
    let mut target = rng.below(u64::from(total)) as u32;
    for (weight, template) in TEMPLATES {
        if target < *weight {
            return template(rng);
        }
        target -= weight;
    }
    "Mozilla/5.0".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_tailed_but_diverse() {
        let mut rng = Rng::new(3);
        let pool = UserAgentPool::new(&mut rng, 2000, 0.05);
        assert_eq!(pool.len(), 2000);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..20_000 {
            *counts.entry(pool.draw(&mut rng)).or_insert(0u32) += 1;
        }
        let mut by_count: Vec<u32> = counts.values().copied().collect();
        by_count.sort_unstable_by(|a, b| b.cmp(a));
        // Many distinct user agents, and the most popular one is far more common than the median.
        assert!(counts.len() > 2000, "{} distinct", counts.len());
        let median = by_count[by_count.len() / 2];
        assert!(
            by_count[0] > 50 * median.max(1),
            "top {} median {median}",
            by_count[0]
        );
    }
}
