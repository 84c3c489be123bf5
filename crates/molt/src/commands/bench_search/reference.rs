//! The reference songs (`bench/search/reference_songs.toml`): original lyrics
//! written for the benchmark, built into the binary so that every corpus has
//! them, whatever the working directory.

use serde::Deserialize;

const FILE: &str = include_str!("../../../../../bench/search/reference_songs.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSong {
    /// Stable key, named by `bench/search/fragments.tsv`.
    pub key: String,
    pub title: String,
    pub title_latin: String,
    pub artist: String,
    pub artist_latin: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub year: u32,
    pub genre: String,
    /// One English line: what the song is about.
    pub description: String,
    pub lyrics: String,
}

#[derive(Deserialize)]
struct File {
    song: Vec<ReferenceSong>,
}

/// Every reference song, in file order.
pub fn songs() -> Vec<ReferenceSong> {
    let file: File =
        toml::from_str(FILE).expect("bench/search/reference_songs.toml is valid (checked by a test)");
    file.song
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_reference_songs_parse_with_unique_keys_and_titles() {
        let songs = songs();
        assert!(songs.len() >= 12, "{}", songs.len());
        let keys: HashSet<&str> = songs.iter().map(|s| s.key.as_str()).collect();
        let titles: HashSet<&str> = songs.iter().map(|s| s.title.as_str()).collect();
        assert_eq!((keys.len(), titles.len()), (songs.len(), songs.len()));
        for s in &songs {
            assert!(s.lyrics.contains("\n\n"), "{}: at least two stanzas", s.key);
            assert_eq!(molt_khmer::normalize(&s.lyrics), s.lyrics, "{}: canonical Khmer", s.key);
        }
    }
}
