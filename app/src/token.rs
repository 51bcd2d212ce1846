//! `forewarn token create|list|revoke`: API bearer tokens for people and systems — printed once
//! when made, listed with their role, expiry and last use, revoked at once (their dashboard
//! sessions end with them).

use std::path::PathBuf;

use anyhow::Context;
use forewarn_maintenance::{Maintenance, Role};

/// `forewarn token ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and only its hash is kept.
    Create(CreateArgs),
    /// List the tokens: name, role, made, expires, revoked, last used (never the secret).
    List(DataDirArg),
    /// Revoke a token by name: refused from the next request on, its sessions ended.
    Revoke(RevokeArgs),
}

/// Just the data directory.
#[derive(Debug, clap::Args)]
pub struct DataDirArg {
    /// Data directory of the service.
    #[arg(long, default_value = "./forewarn-data", env = "FOREWARN_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// Settings of `forewarn token revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The token's name.
    pub name: String,
    #[command(flatten)]
    /// Where the service keeps its data.
    pub dir: DataDirArg,
}

/// Settings of `forewarn token create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// What it may do: viewer, technician, planner or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Who holds it (unique; shown in the audit log). A technician's token is named by their
    /// technician id: it acts on the tickets assigned to that id.
    #[arg(long)]
    pub name: String,
    /// It stops working this long from now (`90d`, `12h`); never, when not given.
    #[arg(long, value_parser = crate::parse_duration)]
    pub expires_in: Option<std::time::Duration>,
    /// Data directory of the service.
    #[arg(long, default_value = "./forewarn-data", env = "FOREWARN_DATA_DIR")]
    pub data_dir: PathBuf,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("{s:?} is not a role: viewer, technician, planner or admin"))
}

/// Creates a token named `name` in the data directory's tickets database and returns it
/// (for tools that hand it on, such as `bench lifecycle` to its crew).
pub async fn create_quiet(
    data_dir: &std::path::Path,
    name: &str,
    role: Role,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let db = Maintenance::from_env(data_dir).await?;
    let token = db.create_token(name, role).await?;
    db.close().await;
    Ok(token)
}

/// Creates the token and prints it.
pub async fn create(args: &CreateArgs) -> anyhow::Result<()> {
    let name = args.name.trim();
    anyhow::ensure!(!name.is_empty(), "--name must not be empty");
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let db = Maintenance::from_env(&args.data_dir).await?;
    anyhow::ensure!(
        !db.token_name_taken(name).await?,
        "a token named {name:?} exists already"
    );
    let expires = args
        .expires_in
        .map(chrono::Duration::from_std)
        .transpose()
        .context("--expires-in is too long")?;
    let token = db.create_token_expiring(name, args.role, expires).await?;
    let listed = db.tokens().await?;
    db.close().await;
    println!("{token}");
    let until = listed
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| t.expires_at.clone())
        .map_or("never expires".to_owned(), |e| format!("expires {e}"));
    eprintln!(
        "token {name:?} ({}, {until}) created; it is shown this once: keep it",
        args.role.as_str()
    );
    tracing::info!(name, role = args.role.as_str(), %until, "token created");
    Ok(())
}

/// Prints every token as a table.
pub async fn list(args: &DataDirArg) -> anyhow::Result<()> {
    let db = Maintenance::from_env(&args.data_dir).await?;
    let tokens = db.tokens().await?;
    db.close().await;
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.role.as_str().to_owned(),
                if t.active_now() { "active" } else { "refused" }.to_owned(),
                t.created_at.clone(),
                dash(&t.expires_at),
                dash(&t.revoked_at),
                dash(&t.last_used_at),
            ]
        })
        .collect();
    let head = [
        "name",
        "role",
        "state",
        "created",
        "expires",
        "revoked",
        "last used",
    ];
    print!("{}", aligned(&head, &rows));
    Ok(())
}

/// Rows as text in columns two spaces apart.
fn aligned(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Revokes a token by name.
pub async fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let db = Maintenance::from_env(&args.dir.data_dir).await?;
    let done = db.revoke_token(args.name.trim()).await?;
    db.close().await;
    anyhow::ensure!(done, "no active token named {:?}", args.name);
    eprintln!("token {:?} revoked; its sessions are ended", args.name);
    tracing::info!(name = %args.name, "token revoked");
    Ok(())
}

/// On a first start (no token in the database), makes the admin token and prints how to sign in
/// with it: shown this once, only its hash is kept.
pub async fn bootstrap(
    db: &Maintenance,
    http: std::net::SocketAddr,
    https: bool,
) -> anyhow::Result<()> {
    if let Some(token) = db.bootstrap_admin().await? {
        let base = crate::service::base_url(http, https);
        println!(
            "First start: an admin token was made (shown once; keep it, `forewarn token create` makes more).\n\
             Token:   {token}\n\
             Sign in: {base}/ui/signin (paste the token)\n\
             API:     curl -H 'Authorization: Bearer {token}' {base}/api/v1/tickets"
        );
    }
    Ok(())
}
