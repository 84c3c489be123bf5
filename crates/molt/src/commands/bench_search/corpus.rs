//! `molt bench corpus`: a synthetic catalogue for the search benchmarks.
//!
//! What a corpus of N songs (seed S) is:
//!
//! - **words**: real Khmer words from the e5 model's vocabulary, filtered to
//!   whole words by ICU segmentation ([`super::words`]), common words drawn
//!   more often; English lines from a short list of lyric words;
//! - **artists**: Khmer names (a family name and a given name from fixed
//!   lists), about one per 40 songs; some also have a romanised Latin name,
//!   some an alias;
//! - **songs**: a Khmer title of 2–3 words, its UNGEGN romanisation as the
//!   Latin title, an artist, a year (1960–2025), a genre (in the album field:
//!   the schema has no genre column), and 2–6 stanzas. Stanzas are drawn from a
//!   pool of distinct stanzas (default N/5, at most 4,000; a few songs repeat
//!   their first stanza as a chorus); each stanza has 2–4 lines of Khmer
//!   phrases, about one line in eight in English. So each distinct passage is
//!   embedded once ([`super::cache`]), while every song gets its own index rows;
//! - **the reference songs** ([`super::reference`]) are inserted too, at
//!   seeded positions among the synthetic ones (not first: search breaks ties
//!   by the lower song id, which would flatter them).
//!
//! Every song goes in through the store's own APIs (create, lyrics, status
//! changes, publish), ends PUBLISHED, and is indexed by the real indexer with
//! the real e5 model. Each song has an `audio_in` asset row whose file does not
//! exist: search never reads audio, and a scratch benchmark store needs none.
//! Artists' Latin names and aliases are written with SQL through the store's
//! writer (the store has no API for them yet).
//!
//! Deterministic: the same seed and N (and the same model file) give the same
//! songs, byte for byte, in the same order.

use super::cache::CachingEmbedder;
use super::reference::{self, ReferenceSong};
use super::rng::Rng;
use super::words::{KhmerWords, ENGLISH};
use super::{blocking, model_path, open_store, MANIFEST};
use crate::commands::segmenter;
use crate::output::{emit, CliError, CliResult};
use crate::studio::embedder;
use molt_core::catalog::{LyricsSource, NewLyrics, NewSong, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::{Config, SongStatus};
use molt_khmer::Segmenter;
use molt_search::indexer::Indexer;
use molt_search::{SearchService, SearchSettings};
use molt_store::{Database, SearchStore, SqliteStore};
use molt_vector::{Embedder, Role};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

const FAMILY_NAMES: &[&str] =
    &["សុខ", "កែវ", "ម៉ៅ", "ឈឹម", "ហេង", "លី", "ចាន់", "សេង", "ញឹម", "ប៉ិច", "ទូច", "អ៊ុក", "ណុប", "សួស", "យស", "ពេជ្រ"];
const GIVEN_NAMES: &[&str] = &[
    "សុភា",
    "ចន្ទា",
    "វណ្ណា",
    "ស្រីពៅ",
    "សុផល",
    "ដារា",
    "បុប្ផា",
    "រតនា",
    "សុវណ្ណ",
    "សំណាង",
    "វិចិត្រ",
    "ពិសី",
    "ស្រីនិច",
    "ធីតា",
    "មករា",
    "កញ្ញា",
    "សុខា",
    "ភារម្យ",
    "វាសនា",
    "រស្មី",
    "សោភ័ណ",
    "ណារី",
    "សុធា",
    "ចរិយា",
];
const GENRES: &[&str] = &[
    "Romvong", "Romkbach", "Saravan", "Lam Leav", "Ballad", "Pop", "Rock", "Chapei", "Kantrum", "Mohori",
    "Twist", "Folk",
];
/// Actor recorded on every event the generator causes.
const ACTOR: &str = "bench-corpus";
/// Album prefix marking a reference song (not indexed: search never sees it).
pub const REFERENCE_ALBUM: &str = "molt-bench-reference:";

pub struct Options {
    pub songs: usize,
    pub seed: u64,
    pub stanza_pool: Option<usize>,
}

/// What `molt bench corpus` made; written to `<data>/bench/corpus.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CorpusManifest {
    pub seed: u64,
    pub synthetic_songs: usize,
    pub songs: usize,
    pub artists: usize,
    pub stanza_pool: usize,
    /// Reference song key → song id.
    pub reference: BTreeMap<String, i64>,
    /// Reference song key → its one-line English description.
    pub descriptions: BTreeMap<String, String>,
    pub vocabulary_pieces: usize,
    pub khmer_pieces: usize,
    pub khmer_words: usize,
    pub passages: usize,
    pub distinct_passages_embedded: usize,
    pub model: String,
    pub generate_secs: f64,
    pub insert_secs: f64,
    pub embed_secs: f64,
    pub index_secs: f64,
}

/// An artist of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Artist {
    pub km: String,
    pub latin: Option<String>,
    pub aliases: Vec<String>,
}

/// A song to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSong {
    pub title: String,
    pub title_latin: String,
    pub artist: usize,
    pub year: u32,
    pub album: String,
    pub lyrics: String,
    pub reference: Option<String>,
}

/// The whole catalogue, in insertion order.
pub struct Catalogue {
    pub artists: Vec<Artist>,
    pub songs: Vec<GenSong>,
    pub stanza_pool: usize,
}

pub async fn run(config: &Config, options: Options, json: bool) -> CliResult {
    let model = model_path(config)?;
    if config.data_dir.join("molt.db").exists() {
        return Err(CliError::new(
            "corpus_exists",
            format!("{} already has a database: use an empty directory", config.data_dir.display()),
        ));
    }
    let started = Instant::now();
    let seg = Arc::new(segmenter(config)?);
    let words = {
        let seg = seg.clone();
        blocking(move || KhmerWords::from_model(&model, &seg).map_err(|e| CliError::new("model_failed", e)))
            .await?
    };
    eprintln!(
        "vocabulary: {} pieces, {} with Khmer, {} whole Khmer words",
        words.pieces,
        words.khmer_pieces,
        words.words.len()
    );
    let catalogue = generate(&options, &words.words, &seg);
    let generate_secs = started.elapsed().as_secs_f64();

    let store = open_store(config).await?;
    let started = Instant::now();
    let (ids, reference) = insert(&store, &catalogue).await?;
    let insert_secs = started.elapsed().as_secs_f64();

    let cache = Arc::new(CachingEmbedder::new(embedder(config)));
    let indexed = {
        let (store, cache, seg, search) = (store.clone(), cache.clone(), seg.clone(), config.search.clone());
        blocking(move || index(&store, cache, seg, &search, &ids)).await?
    };
    let manifest = CorpusManifest {
        seed: options.seed,
        synthetic_songs: options.songs,
        songs: catalogue.songs.len(),
        artists: catalogue.artists.len(),
        stanza_pool: catalogue.stanza_pool,
        descriptions: reference::songs().into_iter().map(|s| (s.key, s.description)).collect(),
        reference,
        vocabulary_pieces: words.pieces,
        khmer_pieces: words.khmer_pieces,
        khmer_words: words.words.len(),
        passages: indexed.passages,
        distinct_passages_embedded: cache.embedded.load(Ordering::Relaxed),
        model: molt_ml::E5_MODEL_ID.to_string(),
        generate_secs,
        insert_secs,
        embed_secs: indexed.embed_secs,
        index_secs: indexed.index_secs,
    };
    write_manifest(config, &manifest)?;
    emit(json, &manifest, |m| {
        format!(
            "corpus: {} songs ({} synthetic + {} reference), {} artists, seed {}\n  words: {} whole Khmer words of {} Khmer pieces in the e5 vocabulary\n  passages: {} rows, {} distinct texts embedded (stanza pool {})\n  generate {:.1} s, insert {:.1} s, embed {:.1} s, index {:.1} s",
            m.songs, m.synthetic_songs, m.reference.len(), m.artists, m.seed, m.khmer_words, m.khmer_pieces,
            m.passages, m.distinct_passages_embedded, m.stanza_pool, m.generate_secs, m.insert_secs,
            m.embed_secs, m.index_secs
        )
    });
    Ok(())
}

fn write_manifest(config: &Config, manifest: &CorpusManifest) -> CliResult {
    let text =
        serde_json::to_string_pretty(manifest).map_err(|e| CliError::new("internal", e.to_string()))?;
    super::write_file(&config.data_dir.join(MANIFEST), text.as_bytes())
}

/// The catalogue for `options`: a function of the seed, N and the word list.
pub fn generate(options: &Options, khmer: &[String], seg: &Segmenter) -> Catalogue {
    let mut rng = Rng::new(options.seed);
    let references = reference::songs();
    let mut artists = artists(&mut rng, options.songs, &references, seg);
    let pool_size = options.stanza_pool.unwrap_or((options.songs / 5).clamp(50, 4_000)).max(1);
    let pool = stanza_pool(&mut rng, pool_size, khmer);
    let mut songs: Vec<GenSong> =
        (0..options.songs).map(|_| synthetic_song(&mut rng, khmer, &pool, artists.len(), seg)).collect();
    for song in &references {
        let artist = reference_artist(&mut artists, song);
        let at = rng.range(0, songs.len());
        songs.insert(at, reference_song(song, artist));
    }
    Catalogue { artists, songs, stanza_pool: pool.len() }
}

fn artists(rng: &mut Rng, songs: usize, references: &[ReferenceSong], seg: &Segmenter) -> Vec<Artist> {
    let taken: HashSet<&str> = references.iter().map(|r| r.artist.as_str()).collect();
    let mut names: Vec<String> = FAMILY_NAMES
        .iter()
        .flat_map(|f| GIVEN_NAMES.iter().map(move |g| format!("{f} {g}")))
        .filter(|n| !taken.contains(n.as_str()))
        .collect();
    rng.shuffle(&mut names);
    names.truncate((songs / 40).clamp(8, names.len()));
    names
        .into_iter()
        .map(|km| {
            let romanized = molt_khmer::romanize_name(seg, &km);
            let latin = rng.chance(0.6).then(|| romanized.clone());
            let aliases = if rng.chance(0.25) {
                // Given name first, as Western listings write it.
                let mut parts: Vec<&str> = romanized.split_whitespace().collect();
                parts.reverse();
                vec![parts.join(" ")]
            } else {
                Vec::new()
            };
            Artist { km, latin, aliases }
        })
        .collect()
}

/// `n` distinct stanzas.
fn stanza_pool(rng: &mut Rng, n: usize, khmer: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut pool = Vec::with_capacity(n);
    while pool.len() < n {
        let lines: Vec<String> = (0..rng.range(2, 4)).map(|_| line(rng, khmer)).collect();
        let stanza = lines.join("\n");
        if seen.insert(stanza.clone()) {
            pool.push(stanza);
        }
    }
    pool
}

/// A lyric line: Khmer phrases (words written together, phrases apart), or English.
fn line(rng: &mut Rng, khmer: &[String]) -> String {
    if rng.chance(0.125) {
        let words: Vec<&str> = (0..rng.range(4, 7)).map(|_| *rng.pick(ENGLISH)).collect();
        let mut line = words.join(" ");
        if let Some(first) = line.get(0..1) {
            line.replace_range(0..1, &first.to_uppercase());
        }
        return line;
    }
    let phrases: Vec<String> = (0..rng.range(1, 3)).map(|_| phrase(rng, khmer, 2, 4)).collect();
    phrases.join(" ")
}

fn phrase(rng: &mut Rng, khmer: &[String], low: usize, high: usize) -> String {
    (0..rng.range(low, high)).map(|_| khmer[rng.skewed(khmer.len())].as_str()).collect()
}

fn synthetic_song(
    rng: &mut Rng,
    khmer: &[String],
    pool: &[String],
    artists: usize,
    seg: &Segmenter,
) -> GenSong {
    let title = phrase(rng, khmer, 2, 3);
    let mut stanzas: Vec<&str> = (0..rng.range(2, 6)).map(|_| rng.pick(pool).as_str()).collect();
    if rng.chance(0.2) {
        stanzas.push(stanzas[0]);
    }
    GenSong {
        title_latin: molt_khmer::romanize_name(seg, &title),
        title,
        artist: rng.range(0, artists - 1),
        year: u32::try_from(rng.range(1960, 2025)).unwrap_or(1960),
        album: format!("{} Vol. {}", rng.pick(GENRES), rng.range(1, 12)),
        lyrics: stanzas.join("\n\n"),
        reference: None,
    }
}

/// The reference song's artist (added once; several reference songs share one).
fn reference_artist(artists: &mut Vec<Artist>, song: &ReferenceSong) -> usize {
    if let Some(i) = artists.iter().position(|a| a.km == song.artist) {
        return i;
    }
    artists.push(Artist {
        km: song.artist.clone(),
        latin: Some(song.artist_latin.clone()),
        aliases: song.aliases.clone(),
    });
    artists.len() - 1
}

fn reference_song(song: &ReferenceSong, artist: usize) -> GenSong {
    GenSong {
        title: song.title.clone(),
        title_latin: song.title_latin.clone(),
        artist,
        year: song.year,
        album: format!("{REFERENCE_ALBUM}{} ({})", song.key, song.genre),
        lyrics: song.lyrics.trim().to_string(),
        reference: Some(song.key.clone()),
    }
}

/// Inserts every song (published) and each artist's other names; returns the
/// song ids in order and the reference songs' ids by key.
async fn insert(store: &SqliteStore, catalogue: &Catalogue) -> CliResult<(Vec<i64>, BTreeMap<String, i64>)> {
    let mut ids = Vec::with_capacity(catalogue.songs.len());
    let mut reference = BTreeMap::new();
    let mut named = vec![false; catalogue.artists.len()];
    let total = catalogue.songs.len();
    for (n, song) in catalogue.songs.iter().enumerate() {
        let artist = &catalogue.artists[song.artist];
        let created = store.create_song(new_song(song, artist, n)?, ACTOR).await?;
        store.add_lyrics(created.id, lyrics(&song.lyrics), ACTOR).await?;
        for to in [SongStatus::Processing, SongStatus::Review] {
            store.set_song_status(created.id, to, ACTOR, None).await?;
        }
        store.publish_song(created.id, ACTOR, Some("synthetic benchmark corpus".into())).await?;
        if !std::mem::replace(&mut named[song.artist], true) {
            let (store, artist, id) = (store.clone(), artist.clone(), created.artist.id);
            blocking(move || name_artist(&store, id, &artist)).await?;
        }
        if let Some(key) = &song.reference {
            reference.insert(key.clone(), created.id);
        }
        ids.push(created.id);
        if (n + 1) % 500 == 0 || n + 1 == total {
            eprint!("\rinserting songs: {}/{total}", n + 1);
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    Ok((ids, reference))
}

fn new_song(song: &GenSong, artist: &Artist, n: usize) -> CliResult<NewSong> {
    let metadata = SongInput {
        title: Some(song.title.clone()),
        title_latin: Some(song.title_latin.clone()),
        artist: Some(artist.km.clone()),
        year: Some(song.year.to_string()),
        album: Some(song.album.clone()),
        language: Some("km".into()),
        ..Default::default()
    }
    .validate(2026)
    .map_err(|e| CliError::new("invalid_song", format!("generated song {n}: {e}")))?;
    // A distinct digest per song; no audio file exists (search never reads one).
    let sha256 = format!("{:064x}", n + 1);
    let audio = StoredAudio {
        relative_path: format!("assets/audio_in/{sha256}.wav"),
        sha256,
        mime: "audio/wav".into(),
        bytes: 1,
        duration_secs: 180.0,
    };
    Ok(NewSong { metadata, audio })
}

fn lyrics(text: &str) -> NewLyrics {
    NewLyrics {
        text: text.to_string(),
        timed: None,
        source: LyricsSource::Human,
        author: ACTOR.into(),
        model: None,
        language: Some("km".into()),
        confidence: None,
    }
}

/// The artist's Latin name and aliases (SQL through the store's writer: no API yet).
fn name_artist(store: &SqliteStore, id: i64, artist: &Artist) -> CliResult {
    let artist = artist.clone();
    store.write(move |c| {
        if let Some(latin) = &artist.latin {
            c.execute("UPDATE artists SET name_latin = ?1 WHERE id = ?2", (latin, id))?;
        }
        for alias in &artist.aliases {
            let key = alias.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            c.execute(
                "INSERT OR IGNORE INTO artist_aliases (artist_id, alias, alias_key) VALUES (?1, ?2, ?3)",
                (id, alias, key),
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

struct Indexed {
    passages: usize,
    embed_secs: f64,
    index_secs: f64,
}

/// Embeds every distinct passage once (in large batches), then runs the real
/// rebuild (`SearchService::reindex`) with those vectors remembered.
fn index(
    store: &SqliteStore,
    cache: Arc<CachingEmbedder>,
    seg: Arc<Segmenter>,
    search: &molt_core::config::SearchConfig,
    ids: &[i64],
) -> CliResult<Indexed> {
    let started = Instant::now();
    let texts = distinct_passages(store, &cache, &seg, ids)?;
    let model: Arc<dyn Embedder> = cache.clone();
    if model.dim() == 0 {
        return Err(CliError::new("model_failed", "the embedding model did not load"));
    }
    for (i, chunk) in texts.chunks(64).enumerate() {
        let batch: Vec<&str> = chunk.iter().map(String::as_str).collect();
        model.embed(&batch, Role::Passage).map_err(|e| CliError::new("embedding_failed", e.to_string()))?;
        eprint!("\rembedding distinct passages: {}/{}", (i * 64 + chunk.len()), texts.len());
        let _ = std::io::stderr().flush();
    }
    eprintln!();
    let embed_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let service =
        SearchService::new(Arc::new(store.clone()), Some(model), seg, SearchSettings::from_config(search));
    let report = service
        .reindex(&|done, total| {
            if done % 500 == 0 || done == total {
                eprint!("\rindexing songs: {done}/{total}");
                let _ = std::io::stderr().flush();
            }
        })
        .map_err(super::super::search::search_error)?;
    eprintln!();
    if report.vectors != report.passages {
        return Err(CliError::new(
            "embedding_failed",
            format!("{} of {} passages have vectors", report.vectors, report.passages),
        ));
    }
    Ok(Indexed { passages: report.passages, embed_secs, index_secs: started.elapsed().as_secs_f64() })
}

/// Every passage text the indexer will embed (title lines and stanzas), once each.
fn distinct_passages(
    store: &SqliteStore,
    cache: &Arc<CachingEmbedder>,
    seg: &Arc<Segmenter>,
    ids: &[i64],
) -> CliResult<Vec<String>> {
    let indexer =
        Indexer::new(Arc::new(store.clone()), Some(cache.clone() as Arc<dyn Embedder>), seg.clone());
    let mut seen = HashSet::new();
    let mut texts = Vec::new();
    for &id in ids {
        let Some(source) = store.search_source(id)? else { continue };
        for line in indexer.entry(&source).lines {
            if seen.insert(line.text.clone()) {
                texts.push(line.text);
            }
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["ទឹក", "ទន្លេ", "ស្រឡាញ់", "ភ្លៀង", "ព្រះចន្ទ", "ផ្កា", "ភូមិ", "ចិត្ត"].map(String::from).to_vec()
    }

    #[test]
    fn a_seed_makes_the_same_catalogue_and_another_seed_another() {
        let seg = Segmenter::with_names(None);
        let options = |seed| Options { songs: 30, seed, stanza_pool: None };
        let a = generate(&options(7), &words(), &seg);
        let b = generate(&options(7), &words(), &seg);
        let c = generate(&options(8), &words(), &seg);
        assert_eq!(a.songs, b.songs);
        assert_eq!(a.artists, b.artists);
        assert_ne!(a.songs, c.songs);
        let references = reference::songs();
        assert_eq!(a.songs.len(), 30 + references.len());
        for song in &a.songs {
            let stanzas = song.lyrics.split("\n\n").count();
            assert!((2..=7).contains(&stanzas), "{stanzas}");
            assert!(!song.title.is_empty() && !song.title_latin.is_empty());
        }
        let keys: Vec<&str> = a.songs.iter().filter_map(|s| s.reference.as_deref()).collect();
        assert_eq!(keys.len(), references.len());
        let first = &a.songs[..references.len()];
        assert!(first.iter().any(|s| s.reference.is_none()), "mixed in, not first");
    }
}
