//! JSON: the model, serialised with serde. Import checks the model's invariants and reports them at
//! the JSON line where the offending value ends.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{ExportError, ParseError};
use crate::model::{check_language, Line, Lyrics, Word};

pub(crate) fn export(lyrics: &Lyrics) -> Result<String, ExportError> {
    lyrics.validate()?;
    let mut out = serde_json::to_string_pretty(lyrics).expect("the model always serialises");
    out.push('\n');
    Ok(out)
}

pub(crate) fn import(text: &str) -> Result<Lyrics, ParseError> {
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message).to_string();
        ParseError::new(e.line(), message)
    })?;
    let lyrics = Lyrics { language: doc.language, lines: doc.lines.0 };
    debug_assert_eq!(lyrics.validate(), Ok(()));
    Ok(lyrics)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default, deserialize_with = "language")]
    language: Option<String>,
    #[serde(default)]
    lines: Lines,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    #[serde(default)]
    start_ms: Option<u64>,
    #[serde(default)]
    end_ms: Option<u64>,
    text: String,
    #[serde(default)]
    words: Vec<RawWord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWord {
    start_ms: u64,
    end_ms: u64,
    text: String,
}

/// An optional language tag, checked inside the string's own visitor so the error names its line.
fn language<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Tag;
    impl Visitor<'_> for Tag {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a language tag")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            check_language(v).map_err(E::custom)?;
            Ok(v.to_string())
        }
    }
    struct OptionalTag;
    impl<'de> Visitor<'de> for OptionalTag {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a language tag or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(Tag).map(Some)
        }
    }
    d.deserialize_option(OptionalTag)
}

/// The `lines` array, each line checked as it is read so an error carries its position.
#[derive(Default)]
struct Lines(Vec<Line>);

impl<'de> Deserialize<'de> for Lines {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lines;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of lines")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lines, A::Error> {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element_seed(LineSeed(lines.len()))? {
                    lines.push(line);
                }
                Ok(Lines(lines))
            }
        }
        d.deserialize_seq(V)
    }
}

/// One line object, index known. The check runs inside the object's own visitor, so serde_json
/// reports the error where that object ends (rather than where the whole array ends).
struct LineSeed(usize);

impl<'de> DeserializeSeed<'de> for LineSeed {
    type Value = Line;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Line, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed {
    type Value = Line;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a line object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Line, A::Error> {
        let raw = RawLine::deserialize(MapAccessDeserializer::new(map))?;
        let words = raw
            .words
            .into_iter()
            .map(|w| Word { start_ms: w.start_ms, end_ms: w.end_ms, text: w.text })
            .collect();
        let line = Line { start_ms: raw.start_ms, end_ms: raw.end_ms, text: raw.text, words };
        line.validate().map_err(|(word, message)| {
            let at = match word {
                Some(w) => format!("lines[{}].words[{}]", self.0, w - 1),
                None => format!("lines[{}]", self.0),
            };
            de::Error::custom(format!("{at} {message}"))
        })?;
        Ok(line)
    }
}
