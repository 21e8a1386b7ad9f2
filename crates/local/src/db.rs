//! Opening the database: WAL (readers never block the writer), `synchronous = FULL` (a committed
//! webhook survives a crash of the process or the machine), and the schema.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    body       TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    last_error TEXT,
    dead       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (dead, next_at);
-- DynamoDB `DELIVERY#<key>` / `<target>`.
CREATE TABLE IF NOT EXISTS deliveries (
    event_key   TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    updated_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (event_key, target)
);
-- The other records of the single-table design (WATERMARK#, JOB#, SPACE#, INCIDENT#).
CREATE TABLE IF NOT EXISTS records (
    pk         TEXT NOT NULL,
    sk         TEXT NOT NULL,
    body       TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (pk, sk)
);
";

/// The database file; hands out connections configured the same way.
#[derive(Debug, Clone)]
pub struct Db {
    path: std::path::PathBuf,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and its schema.
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        let db = Db {
            path: path.to_path_buf(),
        };
        db.connect()?.execute_batch(SCHEMA)?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection whose commits are on disk when they return (`synchronous = FULL`): for the
    /// outbox writer, which answers 202 only after its commit.
    pub fn connect(&self) -> rusqlite::Result<Connection> {
        self.open_with("FULL")
    }

    /// A connection shared behind a mutex, for bookkeeping (delivery log, dispatcher). Its
    /// commits survive a process crash but may be lost with the machine's power
    /// (`synchronous = NORMAL` in WAL mode); losing one only means a deduplicated redelivery.
    pub fn shared(&self) -> rusqlite::Result<Arc<Mutex<Connection>>> {
        Ok(Arc::new(Mutex::new(self.open_with("NORMAL")?)))
    }

    fn open_with(&self, synchronous: &str) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        Ok(conn)
    }
}

/// Runs `f` on a shared connection off the async threads.
pub(crate) async fn with_conn<T, F>(conn: &Arc<Mutex<Connection>>, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = conn
            .lock()
            .map_err(|_| "database lock poisoned".to_string())?;
        f(&mut guard).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}
