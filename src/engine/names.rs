//! Container IDs and the random names of unnamed containers (docker's
//! adjective_noun).

/// 64 random hex digits, like docker and podman IDs.
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    hex::encode(b)
}

const ADJECTIVES: [&str; 48] = [
    "admiring",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "brave",
    "busy",
    "calm",
    "charming",
    "clever",
    "cool",
    "dazzling",
    "determined",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elegant",
    "epic",
    "fervent",
    "festive",
    "focused",
    "friendly",
    "gallant",
    "gentle",
    "goofy",
    "happy",
    "hungry",
    "jolly",
    "keen",
    "kind",
    "lively",
    "loving",
    "merry",
    "modest",
    "nimble",
    "nostalgic",
    "peaceful",
    "proud",
    "quiet",
    "rapid",
    "serene",
    "sharp",
    "sunny",
    "vivid",
    "witty",
];
const NOUNS: [&str; 48] = [
    "agnesi", "babbage", "backus", "bell", "boole", "cerf", "curie", "darwin", "dijkstra",
    "einstein", "euclid", "euler", "fermat", "feynman", "gauss", "hamilton", "hawking", "hodgkin",
    "hoare", "hopper", "kay", "kepler", "knuth", "lamport", "liskov", "lovelace", "mccarthy",
    "meitner", "minsky", "morse", "newton", "noether", "pascal", "perlman", "pike", "ritchie",
    "shannon", "stallman", "tesla", "thompson", "torvalds", "turing", "volhard", "wescoff",
    "wilson", "wirth", "wozniak", "yalow",
];

pub fn random_name(id: &str) -> String {
    let b = hex::decode(&id[..8]).unwrap_or_else(|_| vec![0; 4]);
    format!(
        "{}_{}",
        ADJECTIVES[b[0] as usize % ADJECTIVES.len()],
        NOUNS[b[1] as usize % NOUNS.len()]
    )
}
