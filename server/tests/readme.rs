//! The README's "Your own game" shows `examples/tag.rs` in full: this keeps
//! the copy in the README equal to the file that is compiled and linted.

#[test]
fn the_readme_game_is_the_tag_example() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{dir}/../README.md")).expect("the README");
    let example = std::fs::read_to_string(format!("{dir}/examples/tag.rs")).expect("the example");
    let section = readme
        .split("### Your own game")
        .nth(1)
        .expect("the README has a \"Your own game\" section");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section shows a rust block");
    assert_eq!(
        block, example,
        "README.md's game should be examples/tag.rs, line for line"
    );
    assert!(
        example.lines().count() < 100,
        "the README's game stays well under 100 lines"
    );
}
