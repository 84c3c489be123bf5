//! Song view counts per UTC day (`song_views`), added in batches.

use super::sql_int;
use crate::error::{StoreError, StoreResult};
use crate::repo::{PopularSong, SongViews, ViewStore};
use rusqlite::{params, Connection};

/// A day as the table stores it; anything else is the caller's bug.
fn check_day(day: &str) -> StoreResult<()> {
    let b = day.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidState(format!("a view day must be YYYY-MM-DD, not {day:?}")))
    }
}

fn add(conn: &Connection, views: &[SongViews]) -> StoreResult<u64> {
    // The SELECT … WHERE EXISTS drops views of a song deleted since they were
    // counted, instead of failing the whole batch on its foreign key.
    let mut stmt = conn.prepare_cached(
        "INSERT INTO song_views (song_id, day, views)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM songs WHERE id = ?1)
         ON CONFLICT (song_id, day) DO UPDATE SET views = views + excluded.views",
    )?;
    // Every day is checked before anything is written.
    views.iter().try_for_each(|v| check_day(&v.day))?;
    let mut stored = 0;
    for v in views.iter().filter(|v| v.views > 0) {
        if stmt.execute(params![v.song_id, v.day, sql_int(v.views)])? > 0 {
            stored += v.views;
        }
    }
    Ok(stored)
}

fn popular(conn: &Connection, since_day: &str, limit: usize) -> StoreResult<Vec<PopularSong>> {
    check_day(since_day)?;
    let mut stmt = conn.prepare_cached(
        "SELECT v.song_id, s.title, SUM(v.views) AS n FROM song_views v
         JOIN songs s ON s.id = v.song_id AND s.status = 'published'
         WHERE v.day >= ?1
         GROUP BY v.song_id ORDER BY n DESC, v.song_id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![since_day, sql_int(limit)], |r| {
        Ok(PopularSong { song_id: r.get(0)?, title: r.get(1)?, views: r.get::<_, i64>(2)?.max(0) as u64 })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl ViewStore for super::SqliteStore {
    fn record_views(&self, views: &[SongViews]) -> StoreResult<u64> {
        if views.is_empty() {
            return Ok(0);
        }
        let views = views.to_vec();
        self.write(move |c| add(c, &views))
    }

    fn popular_songs(&self, since_day: &str, limit: usize) -> StoreResult<Vec<PopularSong>> {
        self.read(|c| popular(c, since_day, limit))
    }
}
