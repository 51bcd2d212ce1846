//! `forewarn token create`: an API bearer token for a person or a system, printed once.

use std::path::PathBuf;

use anyhow::Context;
use forewarn_maintenance::{Maintenance, Role};

/// `forewarn token ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and only its hash is kept.
    Create(CreateArgs),
}

/// Settings of `forewarn token create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// What it may do: viewer, technician, planner or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Who holds it (unique; shown in the audit log).
    #[arg(long)]
    pub name: String,
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
    let token = db.create_token(name, args.role).await?;
    db.close().await;
    println!("{token}");
    eprintln!(
        "token {name:?} ({}) created; it is shown this once: keep it",
        args.role.as_str()
    );
    Ok(())
}

/// On a first start (no token in the database), makes the admin token and prints how to sign in
/// with it: shown this once, only its hash is kept.
pub async fn bootstrap(db: &Maintenance, http: std::net::SocketAddr) -> anyhow::Result<()> {
    if let Some(token) = db.bootstrap_admin().await? {
        let base = crate::service::base_url(http);
        println!(
            "First start: an admin token was made (shown once; keep it, `forewarn token create` makes more).\n\
             Token:   {token}\n\
             Sign in: {base}/ui/signin (paste the token)\n\
             API:     curl -H 'Authorization: Bearer {token}' {base}/api/v1/tickets"
        );
    }
    Ok(())
}
