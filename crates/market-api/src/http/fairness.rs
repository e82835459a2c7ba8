//! Fairness under load: no client can take more than its share of the expensive work.
//!
//! Requests fall into classes by what their (already costed) operation does: sign-in
//! (`login` fields), registration (`register`), other mutations, and queries whose cost
//! reaches `EXPENSIVE_QUERY_COST`. Cheap queries belong to none. Each class has a rate
//! per client (GCRA token buckets from `governor`, keyed by the client address — see
//! `http::auth::client_ip` for proxies), and a client may have at most
//! `MAX_CONCURRENT_EXPENSIVE_PER_CLIENT` requests of any class running at once. A refusal
//! comes before any database work: HTTP 429, `RATE_LIMITED`, `Retry-After`.
//!
//! Memory is bounded: the per-client state is a few dozen bytes per address, and
//! addresses idle for a full period are swept every few thousand admissions.

use crate::graphql::cost::QueryCost;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use market_core::config::Config;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The kinds of expensive request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    SignIn,
    Registration,
    Mutation,
    ExpensiveQuery,
}

impl Class {
    /// The label in `extensions.class` and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::SignIn => "SIGN_IN",
            Class::Registration => "REGISTRATION",
            Class::Mutation => "MUTATION",
            Class::ExpensiveQuery => "EXPENSIVE_QUERY",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Class::SignIn => "sign-in attempts",
            Class::Registration => "registrations",
            Class::Mutation => "changes",
            Class::ExpensiveQuery => "expensive queries",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone)]
pub struct Limited {
    pub class: Class,
    pub retry_after: Duration,
    pub message: String,
}

/// The per-client limiters of one server instance.
pub struct Fairness {
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    registration: DefaultKeyedRateLimiter<IpAddr>,
    mutation: DefaultKeyedRateLimiter<IpAddr>,
    expensive: DefaultKeyedRateLimiter<IpAddr>,
    expensive_cost: u64,
    expensive_document_bytes: usize,
    max_concurrent: usize,
    running: Mutex<HashMap<IpAddr, usize>>,
    admissions: AtomicU64,
}

/// A running expensive request; its slot is freed when dropped.
pub struct Slot {
    fairness: Arc<Fairness>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self
            .fairness
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = running.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.client);
            }
        }
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Fairness {
    pub fn from_config(config: &Config) -> Self {
        Self {
            sign_in: RateLimiter::keyed(per_minute(config.sign_ins_per_minute)),
            registration: RateLimiter::keyed(per_minute(config.registrations_per_minute)),
            mutation: RateLimiter::keyed(per_minute(config.mutations_per_minute)),
            expensive: RateLimiter::keyed(per_minute(config.expensive_queries_per_minute)),
            expensive_cost: config.expensive_query_cost,
            expensive_document_bytes: config.expensive_document_bytes,
            max_concurrent: config.max_concurrent_expensive_per_client.max(1),
            running: Mutex::new(HashMap::new()),
            admissions: AtomicU64::new(0),
        }
    }

    /// The classes of an operation, with how many times each counts (two `login` fields
    /// under aliases are two sign-in attempts). A query is expensive by its cost or by
    /// the size of its document (`document_bytes`): parsing a large one is the work,
    /// even when its repeated fields merge into a cheap operation.
    pub fn classes(&self, cost: &QueryCost, document_bytes: usize) -> Vec<(Class, u32)> {
        let mut classes = Vec::new();
        if cost.is_mutation {
            let sign_in = cost.root_count("login");
            let register = cost.root_count("register");
            let others = cost.root_fields.values().sum::<u32>() - sign_in - register;
            for (class, n) in [
                (Class::SignIn, sign_in),
                (Class::Registration, register),
                (Class::Mutation, others),
            ] {
                if n > 0 {
                    classes.push((class, n));
                }
            }
        } else if cost.requested >= self.expensive_cost
            || document_bytes >= self.expensive_document_bytes
        {
            classes.push((Class::ExpensiveQuery, 1));
        }
        classes
    }

    fn limiter(&self, class: Class) -> &DefaultKeyedRateLimiter<IpAddr> {
        match class {
            Class::SignIn => &self.sign_in,
            Class::Registration => &self.registration,
            Class::Mutation => &self.mutation,
            Class::ExpensiveQuery => &self.expensive,
        }
    }

    /// Admits a request of `client` (no limit without an address) whose document is
    /// `document_bytes` long, or says why not and when to retry. The returned slot must be
    /// held while the request runs.
    pub fn admit(
        self: &Arc<Self>,
        client: Option<IpAddr>,
        cost: &QueryCost,
        document_bytes: usize,
    ) -> Result<Option<Slot>, Limited> {
        let Some(client) = client else {
            return Ok(None);
        };
        let classes = self.classes(cost, document_bytes);
        if classes.is_empty() {
            return Ok(None);
        }
        self.sweep();
        let slot = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let n = running.entry(client).or_default();
            if *n >= self.max_concurrent {
                let class = classes[0].0;
                return Err(Limited {
                    class,
                    retry_after: Duration::from_secs(1),
                    message: format!(
                        "This address already has {} expensive requests running; wait for them to finish.",
                        self.max_concurrent
                    ),
                });
            }
            *n += 1;
            Slot {
                fairness: self.clone(),
                client,
            }
        };
        for (class, n) in classes {
            let limiter = self.limiter(class);
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            let refusal = match limiter.check_key_n(&client, n) {
                Ok(Ok(())) => None,
                Ok(Err(not_until)) => Some(not_until.wait_time_from(DefaultClock::default().now())),
                // More at once than the whole quota: never possible.
                Err(_) => Some(Duration::from_secs(60)),
            };
            if let Some(wait) = refusal {
                return Err(Limited {
                    class,
                    retry_after: wait.max(Duration::from_secs(1)),
                    message: format!(
                        "Too many {} from this address; retry in {} s.",
                        class.what(),
                        wait.as_secs().max(1)
                    ),
                });
            }
        }
        Ok(Some(slot))
    }

    fn sweep(&self) {
        if self.admissions.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limiter in [
                &self.sign_in,
                &self.registration,
                &self.mutation,
                &self.expensive,
            ] {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}
