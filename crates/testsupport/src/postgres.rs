//! A PostgreSQL database of its own for each test.
//!
//! [`TestDatabase::create`] reads [`DATABASE_ENV`] (a server and a
//! database to connect to for administration), creates `ts_test_<random>` there and
//! drops it again when the value is dropped, also when the test panics. When the variable
//! is unset it prints that the test was skipped and returns `None`.
//!
//! The `postgres` client runs its own runtime and must not be called on a thread that
//! runs async tasks, so every call here runs on a thread of its own.

use std::fmt;

use rand::Rng;

/// The variable that names the PostgreSQL server tests may use.
pub const DATABASE_ENV: &str = "TICKETSTREAM_TEST_DATABASE_URL";

/// A database created for one test; dropped with this value.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDatabase({})", self.name)
    }
}

impl TestDatabase {
    /// A new, empty database, or `None` (after printing "skipped") when `ENV` is unset.
    /// `test` names the test in that line.
    pub fn create(test: &str) -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var(DATABASE_ENV) else {
            println!("skipped {test}: {DATABASE_ENV} is not set");
            return None;
        };
        let name = format!("ts_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let url = with_database(&admin_url, &name);
        let db = TestDatabase {
            admin_url,
            name,
            url,
        };
        // The name is made above from hex digits only: it needs no quoting.
        let create = format!("CREATE DATABASE {}", db.name);
        db.admin(move |client| {
            client
                .batch_execute(&create)
                .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        });
        Some(db)
    }

    /// The database's URL, for the code under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` with a client connected to this database, on a thread of its own.
    pub fn with_client<T: Send>(&self, f: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
        on_own_thread(&self.url, f)
    }

    /// Runs `f` with a client connected to the administration database (to rename or
    /// drop this one, say), on a thread of its own.
    pub fn admin<T: Send>(&self, f: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
        on_own_thread(&self.admin_url, f)
    }

    /// Makes the database unreachable: its connections are ended and it is renamed, so
    /// that new connections fail. [`restore`](Self::restore) undoes it.
    pub fn take_away(&self) {
        let (name, hidden) = (self.name.clone(), self.hidden_name());
        self.admin(move |client| {
            // Connections come back while the pool reconnects: end them until the rename
            // goes through.
            for _ in 0..50 {
                client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .unwrap_or_else(|e| panic!("cannot end connections: {e}"));
                match client.batch_execute(&format!("ALTER DATABASE {name} RENAME TO {hidden}")) {
                    Ok(()) => return,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
            panic!("cannot rename {name} away");
        });
    }

    /// Gives the database its name back after [`take_away`](Self::take_away).
    pub fn restore(&self) {
        let rename = format!(
            "ALTER DATABASE {} RENAME TO {}",
            self.hidden_name(),
            self.name
        );
        self.admin(move |client| {
            client
                .batch_execute(&rename)
                .unwrap_or_else(|e| panic!("cannot rename the test database back: {e}"));
        });
    }

    fn hidden_name(&self) -> String {
        format!("{}_away", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // One statement each: DROP DATABASE cannot run in the implicit transaction of a
        // multi-statement query.
        let drops = [self.name.clone(), self.hidden_name()]
            .map(|name| format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                let mut client = postgres::Client::connect(&self.admin_url, postgres::NoTls)?;
                drops.iter().try_for_each(|sql| client.batch_execute(sql))
            })
            .join()
        });
        // Never panic in drop (the test may already be panicking): say what is left over.
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("cannot drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

fn on_own_thread<T: Send>(url: &str, f: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut client = postgres::Client::connect(url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
            f(&mut client)
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `url` with its database (the path) replaced by `name`; the query string is kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
