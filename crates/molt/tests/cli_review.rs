//! `molt review` and `molt song rights` from the command line.

mod common;

use common::{stderr, stdout, Studio};

/// Puts song `id` in REVIEW the way the pipeline would (status change with its event).
fn into_review(studio: &Studio, id: i64) {
    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    conn.execute("UPDATE songs SET status = 'review' WHERE id = ?1", [id]).unwrap();
}

#[test]
fn a_song_is_listed_edited_gated_by_rights_approved_and_then_cannot_be_rejected() {
    let studio = Studio::new();
    studio.add_song(1);
    assert!(stdout(&studio.run(["review", "list"])).contains("nothing to review"));
    into_review(&studio, 1);
    let list = stdout(&studio.run(["review", "list"]));
    assert!(
        list.contains("song 1") && list.contains("rights: unknown") && list.contains("--override-rights"),
        "{list}"
    );

    let fixed = studio.file("fixed.txt", "ខ្ញុំស្រឡាញ់អ្នក\nបាត់ដំបង\n".as_bytes());
    let edit = studio
        .command()
        .args(["review", "edit", "1", "--author", "dara", "--file"])
        .arg(&fixed)
        .output()
        .unwrap();
    assert!(stdout(&edit).contains("lyrics version 1 by dara"), "{}{}", stdout(&edit), stderr(&edit));

    let gated = studio.run(["review", "approve", "1"]);
    assert_eq!(gated.status.code(), Some(1));
    assert!(
        stderr(&gated).contains("cannot be published without an explicit override"),
        "{}",
        stderr(&gated)
    );
    let bad = studio.run(["song", "rights", "1", "mine"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("not a rights status"), "{}", stderr(&bad));
    assert!(stdout(&studio.run(["song", "rights", "1", "family_held"])).contains("rights family_held"));

    let approved = studio.run(["review", "approve", "1"]);
    assert!(stdout(&approved).contains("published"), "{}", stderr(&approved));
    let late = studio.run(["review", "reject", "1", "--reason", "too late"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(stderr(&late).contains("only songs in review"), "{}", stderr(&late));
    let history = stdout(&studio.run(["song", "show", "1"]));
    assert!(history.contains("song.rights_changed") && history.contains("review → published"), "{history}");
}

#[test]
fn a_rejected_song_goes_back_to_its_stage_or_fails_with_the_reason() {
    let studio = Studio::new();
    studio.add_song(1);
    studio.add_song(2);
    into_review(&studio, 1);
    into_review(&studio, 2);
    let back = studio.run(["review", "reject", "1", "--reason", "wrong artist", "--to-stage", "context"]);
    assert!(stdout(&back).contains("back to context"), "{}", stderr(&back));
    let failed = studio.run(["review", "reject", "2", "--reason", "not a song"]);
    assert!(stdout(&failed).contains("failed (not a song)"), "{}", stderr(&failed));
    let bad = studio.run(["review", "reject", "2", "--reason", "x", "--to-stage", "mastering"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("unknown stage"), "{}", stderr(&bad));
    let show = stdout(&studio.run(["song", "show", "2"]));
    assert!(show.contains("rejected: not a song"), "{show}");
}
