//! The one writer connection, owned by its own thread. Every write is sent
//! here; writes that queue up meanwhile are group-committed: one
//! `BEGIN IMMEDIATE … COMMIT` with a savepoint per write, so one failing write
//! rolls back alone and the others still commit together.

use crate::error::{StoreError, StoreResult};
use rusqlite::Connection;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

/// Most writes folded into one commit.
const GROUP_LIMIT: usize = 64;

/// Sends a write's result once its commit's outcome is known.
type Deliver = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A write: runs inside the group transaction (or is handed the reason it
/// cannot run), says if it succeeded, and how to reply.
type GroupedWrite = Box<dyn FnOnce(StoreResult<&Connection>) -> (bool, Deliver) + Send>;
/// Work that needs the bare connection (migrations, backup, restore).
type ExclusiveWork = Box<dyn FnOnce(&mut Connection) + Send>;

enum Message {
    Grouped(GroupedWrite),
    Exclusive(ExclusiveWork),
}

/// How long to keep trying when another process holds the write lock.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    pub busy_timeout: Duration,
    pub retries: u32,
}

pub struct Writer {
    sender: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn spawn(conn: Connection, policy: LockPolicy) -> Writer {
        let (sender, receiver) = mpsc::sync_channel(1024);
        let thread = std::thread::Builder::new()
            .name("molt-store-writer".into())
            .spawn(move || run(conn, receiver, policy))
            .expect("spawn the store writer thread");
        Writer { sender: Some(sender), thread: Some(thread) }
    }

    /// Run `f` in a transaction on the writer thread; returns after commit.
    pub fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<StoreResult<T>>(1);
        let job: GroupedWrite = Box::new(move |conn| {
            let result = conn.and_then(f);
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |commit_error| {
                let _ = reply.send(match (result, commit_error) {
                    (Ok(_), Some(e)) => Err(e),
                    (result, _) => result,
                });
            });
            (ok, deliver)
        });
        self.send(Message::Grouped(job))?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Run `f` with the bare connection, between group commits.
    pub fn exclusive<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<StoreResult<T>>(1);
        self.send(Message::Exclusive(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        })))?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    fn send(&self, message: Message) -> StoreResult<()> {
        self.sender.as_ref().ok_or(StoreError::Closed)?.send(message).map_err(|_| StoreError::Closed)
    }
}

impl Drop for Writer {
    /// Closing the channel lets the thread finish queued writes and exit.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, receiver: Receiver<Message>, policy: LockPolicy) {
    while let Ok(first) = receiver.recv() {
        let mut group = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Grouped(write) => group.push(write),
                Message::Exclusive(work) => {
                    commit_group(&conn, std::mem::take(&mut group), policy);
                    work(&mut conn);
                }
            }
            if group.len() < GROUP_LIMIT {
                next = receiver.try_recv().ok();
            }
        }
        commit_group(&conn, group, policy);
    }
}

fn commit_group(conn: &Connection, group: Vec<GroupedWrite>, policy: LockPolicy) {
    if group.is_empty() {
        return;
    }
    if let Err(e) = begin_immediate(conn, policy) {
        for write in group {
            let (_, deliver) = write(Err(e.clone()));
            deliver(None);
        }
        return;
    }
    let mut delivers = Vec::with_capacity(group.len());
    for write in group {
        delivers.push(run_in_savepoint(conn, write));
    }
    let commit_error = conn.execute_batch("COMMIT").err().map(StoreError::from);
    if commit_error.is_some() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for deliver in delivers {
        deliver(commit_error.clone());
    }
}

fn run_in_savepoint(conn: &Connection, write: GroupedWrite) -> Deliver {
    if let Err(e) = conn.execute_batch("SAVEPOINT w") {
        return write(Err(e.into())).1;
    }
    let (ok, deliver) = write(Ok(conn));
    let end = if ok { "RELEASE w" } else { "ROLLBACK TO w; RELEASE w" };
    if let Err(e) = conn.execute_batch(end) {
        tracing::error!(error = %e, "could not end a write's savepoint");
    }
    deliver
}

/// `BEGIN IMMEDIATE` takes the write lock up front. SQLite's busy timeout waits
/// for another process; past it we retry a few times, then give a clear error.
fn begin_immediate(conn: &Connection, policy: LockPolicy) -> StoreResult<()> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match conn.execute_batch("BEGIN IMMEDIATE").map_err(StoreError::from) {
            Ok(()) => return Ok(()),
            Err(e) if e.is_busy() && attempts <= policy.retries => {
                std::thread::sleep(Duration::from_millis(50 * u64::from(attempts)));
            }
            Err(e) if e.is_busy() => {
                let waited = policy.busy_timeout.as_millis() as u64 * u64::from(attempts);
                return Err(StoreError::Locked { waited_ms: waited, attempts });
            }
            Err(e) => return Err(e),
        }
    }
}
