//! The seed-data probe against a real PostgreSQL (Debian's), started on loopback for the test.

use appliance_status::prober::{probe_seed, Dsn};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL cluster; stopped and removed on drop.
struct Postgres {
    dir: PathBuf,
    port: u16,
}

/// Runs a command as `postgres` when we are root (initdb refuses root), else as ourselves.
fn as_postgres(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    fn start() -> Postgres {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("appliance-status-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        let ok = as_postgres(&Path::new(PG_BIN).join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "initdb failed");
        let ok = as_postgres(&Path::new(PG_BIN).join("pg_ctl"))
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                dir.display()
            ))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "pg_ctl start failed: {}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        Postgres { dir, port }
    }

    fn psql(&self, db: &str, sql: &str) {
        let ok = Command::new(Path::new(PG_BIN).join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ])
            .status()
            .unwrap();
        assert!(ok.success(), "psql {sql}");
    }

    fn dsn(&self, db: &str) -> Dsn {
        Dsn(format!(
            "host=127.0.0.1 port={} user=postgres dbname={db}",
            self.port
        ))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&Path::new(PG_BIN).join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn seed_probe_counts_users_read_only() {
    let pg = Postgres::start();
    let timeout = Duration::from_secs(5);

    // Before the bootstrap: no database yet.
    let missing = probe_seed(&pg.dsn("server"), timeout).await;
    assert!(
        missing.starts_with("error: ") && missing.contains("does not exist"),
        "{missing}"
    );

    pg.psql("postgres", "CREATE DATABASE server");
    let no_table = probe_seed(&pg.dsn("server"), timeout).await;
    assert!(
        no_table.contains("relation \"users\" does not exist"),
        "{no_table}"
    );

    pg.psql(
        "server",
        "CREATE TABLE users (id serial primary key, email text)",
    );
    assert_eq!(probe_seed(&pg.dsn("server"), timeout).await, "0");

    pg.psql(
        "server",
        "INSERT INTO users (email) VALUES ('admin@example.com'), ('support@example.com')",
    );
    assert_eq!(probe_seed(&pg.dsn("server"), timeout).await, "2");

    // The probe's value is what the engine reads.
    let mut probes = appliance_status::probes::Probes::default();
    probes
        .set("seed-users", &probe_seed(&pg.dsn("server"), timeout).await)
        .unwrap();
    assert_eq!(probes.seed_users(), Some(Ok(2)));

    // Unreachable database: an error, quickly.
    let began = Instant::now();
    let down = probe_seed(
        &Dsn("host=127.0.0.1 port=1 user=postgres dbname=server".into()),
        timeout,
    )
    .await;
    assert!(down.starts_with("error: "), "{down}");
    assert!(began.elapsed() < timeout * 2);
}
