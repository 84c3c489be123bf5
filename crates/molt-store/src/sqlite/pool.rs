//! A small pool of read-only connections. In WAL mode readers never block the
//! writer, and they see every committed write.

use crate::error::{StoreError, StoreResult};
use rusqlite::Connection;
use std::sync::{Condvar, Mutex};

pub struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    available: Condvar,
}

impl ReadPool {
    pub fn new(connections: Vec<Connection>) -> ReadPool {
        ReadPool { idle: Mutex::new(connections), available: Condvar::new() }
    }

    /// Borrow a connection for `f`, waiting while all are busy.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = {
            let mut idle = self.idle.lock().map_err(|_| StoreError::Closed)?;
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = self.available.wait(idle).map_err(|_| StoreError::Closed)?;
            }
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        self.available.notify_one();
        result
    }
}
