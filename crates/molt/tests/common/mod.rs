//! Running the real `molt` binary against a temporary data directory.

#![allow(dead_code)]

pub mod fake_http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Studio {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Studio {
    pub fn new() -> Studio {
        let dir = tempfile::tempdir().unwrap();
        let env = vec![("MOLT_DATA_DIR".to_string(), dir.path().join("data").display().to_string())];
        Studio { dir, env }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Studio {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_molt"));
        cmd.current_dir(self.dir.path()).env_remove("MOLT_CONFIG").env("MOLT_LOG", "warn");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command().args(args).output().unwrap()
    }

    /// Write a file into the studio's directory and return its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A distinct valid WAV for each `n`.
    pub fn wav(&self, n: u32) -> PathBuf {
        let bytes = molt_media::testing::sine_wav(2.0, 16_000, 1, 300.0 + f64::from(n) * 10.0);
        self.file(&format!("song{n}.wav"), &bytes)
    }

    /// Add song number `n` (distinct audio) through the CLI.
    pub fn add_song(&self, n: u32) {
        let wav = self.wav(n);
        let out = self
            .command()
            .args(["song", "add", "--title", &format!("song {n}"), "--artist", "a", "--audio"])
            .arg(&wav)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn song_count(&self) -> i64 {
        let db = self.data().join("molt.db");
        if !db.exists() {
            return 0;
        }
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("SELECT count(*) FROM songs", [], |r| r.get(0)).unwrap_or(0)
    }

    /// Files under the asset and temp directories: none may be left by a failed add.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for sub in ["assets/audio_in", "tmp"] {
            collect(&self.data().join(sub), &mut out);
        }
        out
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
